"""LTI custom parameters (``lms_*``): model, text format, validation, access rules, launches."""
