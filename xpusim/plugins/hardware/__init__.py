"""Built-in hardware backends, one package each."""
