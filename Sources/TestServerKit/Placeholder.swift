// Placeholder: replaced by the real TestServerKit sources.
