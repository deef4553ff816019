import ArgumentParser
import GSendmailKit
print("gsendmailctl")
