public enum GSendmailKitPlaceholder {}
