"""Training the translator and the enhancer: data pipeline."""
