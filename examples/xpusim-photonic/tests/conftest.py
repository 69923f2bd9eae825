pytest_plugins = ["xpusim.testing"]
