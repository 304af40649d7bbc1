"""Random matrix theory of §4 and Appendices D and E: the Fuss-Catalan law and products of Gaussian matrices."""
