"""neurosim: an asynchronous energy-based neural simulator with local learning rules."""
__version__ = "0.1.0"
