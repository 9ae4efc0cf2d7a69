"""The notifier's part of a customer's erasure: contacts, reports, their index postings and deliveries."""
