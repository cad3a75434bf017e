"""soundart: make and listen to music with neural networks."""
__version__ = "0.1.0"
