// Placeholder: replaced by the real SMTPServerCore sources.
