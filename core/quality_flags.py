"""Names of the answer-check flags (``core/quality.py`` sets them; health counts them).

Pure data: importable inside workflows.
"""

EMPTY = "empty"                    # no text and no tool call
TRUNCATED = "truncated"            # finish reason "length" below the caller's cap, or prose cut mid-sentence
REPETITION = "repetition"          # a looping decoder: the same n-grams over and over
FOREIGN_SCRIPT = "foreign_script"  # a run of a writing system the prompt does not use, mid-text
INVALID_JSON = "invalid_json"      # JSON was asked and the text does not parse
REFUSAL = "refusal"                # the model declined (refusal field, content filter, stock phrases)

ALL = (EMPTY, TRUNCATED, REPETITION, FOREIGN_SCRIPT, INVALID_JSON, REFUSAL)
