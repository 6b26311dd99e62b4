"""Stand-ins for dbt's cross-database macros (``dbt.concat`` ...) when sqlfluff lints the
models with its jinja templater; see customer_status.py beside this file."""


def concat(fields):
    return "concat(" + ", ".join(fields) + ")"


def type_string():
    return "varchar"


def type_bigint():
    return "bigint"


def type_timestamp():
    return "timestamp"


def type_numeric():
    return "numeric(28, 6)"


def split_part(string_text, delimiter_text, part_number):
    return f"split_part({string_text}, {delimiter_text}, {part_number})"


def date_trunc(datepart, date):
    return f"date_trunc('{datepart}', {date})"


def dateadd(datepart, interval, from_date_or_timestamp):
    return f"date_add({from_date_or_timestamp}, interval ({interval}) {datepart})"


def datediff(first_date, second_date, datepart):
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def right(string_text, length_expression):
    return f"right({string_text}, {length_expression})"


def position(substring_text, string_text):
    return f"position({substring_text} in {string_text})"


def length(expression):
    return f"length({expression})"


def last_day(date, datepart):
    return f"last_day({date})"


def generate_series(upper_bound):
    return f"select generate_series as generated_number from generate_series(1, {upper_bound})"


def bool_or(expression):
    return f"bool_or({expression})"
