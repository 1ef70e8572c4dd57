"""Logging, redaction, progress and reports: everything a person or a log system sees."""
