"""Built-in training methods, one module each."""
