"""Training: the data set on the device, the learning-rate schedule, run identities and the resumable loop."""
