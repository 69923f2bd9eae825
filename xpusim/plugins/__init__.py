"""Built-in plugins: registered through the same hooks as any third-party plugin."""

BUILTINS: tuple[str, ...] = (
    "xpusim.plugins.data",
    "xpusim.plugins.hardware.gpu",
    "xpusim.plugins.methods.backprop",
)
