"""One module per timing source format; each exposes `adapter`, registered in `..registry`."""
