import GSendmailKit
print("gsendmail")
