// Placeholder: replaced by the real MessageCore sources.
