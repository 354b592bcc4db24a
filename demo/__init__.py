"""The demo app: a simulated marketplace, its borrowers and its logins, apart from production."""
