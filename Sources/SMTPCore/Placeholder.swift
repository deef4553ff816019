// Placeholder: replaced by the real SMTPCore sources.
