// Placeholder: replaced by the real Transport sources.
