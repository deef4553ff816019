import TestServerKit
print("gmail-test-server")
