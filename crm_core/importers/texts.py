"""Every sentence the importers show a person: bad-row reasons and file-level refusals.

A bad-row reason names the column and the value as written, e.g.
`balance: 12.345 has more than 2 decimal places`.
"""
from __future__ import annotations

TEXTS = {
    # -- the file as a whole ---------------------------------------------------------------
    "no_file": "no such file",
    "empty_file": "the file is empty; it needs a header row ({columns})",
    "not_utf8": "line {line} is not UTF-8 text; save the file as CSV UTF-8 or XLSX",
    "old_xls": "old .xls workbooks are not read; save the file as .xlsx or CSV UTF-8",
    "bad_xlsx": "not a readable XLSX workbook ({error})",
    "bad_csv": "line {line}: {error}",
    "missing_columns": "missing required column(s): {columns}",
    "duplicate_column": "column {column} appears twice in the header",
    "unknown_columns": "unknown column(s) ignored: {columns}",
    # -- one cell --------------------------------------------------------------------------
    "required": "{column}: empty, but required",
    "too_long": "{column}: {value} is longer than {limit} characters",
    "not_one_of": "{column}: {value} is not one of {options}",
    "not_number": "{column}: {value} is not a number",
    "places": "{column}: {value} has more than {places} decimal places",
    "negative": "{column}: {value} is negative",
    "too_large": "{column}: {value} is too large",
    "not_whole": "{column}: {value} is not a whole number",
    "not_positive": "{column}: {value} is not a positive whole number",
    "not_date": "{column}: {value} is not a date such as 2026-11-18 or 20261118",
    "not_time": "{column}: {value} is not an ISO 8601 time such as 2026-11-18T15:00:00+08:00",
    "time_range": "{column}: {value} is outside the times that can be stored (years 1 to 9999 in UTC)",
    "future": "{value} is in the future (now {now})",
    "not_phone": "{column}: {value} is not a mobile number (11 digits starting with 1) "
                 "or a landline number",
    "not_id": "{column}: {value} is not an ID number (18 characters, or 15 digits for old cards)",
    "id_check_digit": "{column}: {value} has a wrong check digit (expected {expected})",
    "id_birth_date": "{column}: {value} holds no valid birth date",
    "id_float": "{column}: {value} was stored as a number and lost digits; format the column "
                "as text",
    "too_many_values": "{count} values, but the header has {columns} columns",
    "not_object": "not an object of column names and values",
    "not_scalar": "{column}: a list or object, not a single value",
    # -- rows against each other and against the database ------------------------------------
    "duplicate": "{column}: {value} is a duplicate of {row_word} {line}",
    "duplicate_key": "{what} is a duplicate of {row_word} {line}",
    "no_staff": "{column}: no staff member with login {value}",
    "bad_supervisor_line": "supervisor: {value} is defined on line {line}, which is bad",
    "own_supervisor": "supervisor: {value} is the row's own login",
    "platform_id_taken": "{column}: {value} already belongs to staff member {login}",
    "notify_without_id": "notify_via: {value}, but {column} is empty",
    "no_time": "timestamp: empty, and no trading_day to take 15:00 of",
    "no_account": "account_no: no account {value}; import it with the clients file first",
    "account_taken": "account_no: {value} belongs to another client ({name}, id {client_id})",
    "accounts_split": "account_no: {first} and {second} belong to different clients",
    "id_ambiguous": "id_number: {count} clients already have this ID number "
                    "(ids {ids}); add account_no to say which",
    "name_ambiguous": "{count} clients are named {name} with this manager (ids {ids}); "
                      "add account_no or id_number to say which",
    "same_name": "name {name} with the same manager and no account_no or id_number",
    "same_client": "describes the same client (id {client_id}) as line {line}",
    "flat_and_listed": "a row without exchange, instrument, direction and volume reports the account "
                       "flat, but {row_word} {line} lists a position of the same report",
    "group_has_bad_row": "not imported: {row_word} {line} of the same report (account {account}, "
                         "{timestamp}) is bad",
    # -- assessments (suitability questionnaire results) --------------------------------------
    "score_range": "{column}: {value} is not between 0 and {max}",
    "future_date": "date: {value} is in the future",
    "level_contradicts": "level: {level} contradicts score {score}, which suitability.yaml bands as "
                         "{expected}",
    "valid_until_before": "valid_until: {value} is before the assessment's date {date}",
    "no_client": "client: no client named {value} and no account {value}",
    "client_ambiguous": "client: {count} clients are named {value} (accounts {accounts}); "
                        "give the account number",
    # -- settlement statements (a statement is refused as a whole) ---------------------------
    "st_not_text": "line {line} is neither UTF-8 nor GBK text",
    "st_no_funds": "no 资金状况 block: not a settlement statement (交易结算单)",
    "st_no_header": "no {label} in the statement's header",
    "st_bad_date": "line {line}: 日期: {value} is not a date such as 20261118",
    "st_no_figure": "资金状况 (line {line}): no {label}; the statement is incomplete",
    "st_identity": "line {line}: {label} is {shown}, but {formula} = {computed}",
    "st_no_positions": "line {line}: 保证金占用 is {shown}, but there is no 持仓汇总 table; "
                       "the file looks cut short",
    "st_no_total": "{section} (line {line}): the table has no total line (共 N条); "
                   "the file looks cut short",
    "st_cut_row": "line {line}: a {section} row ends without its closing |; the file looks cut short",
    "st_cells": "line {line}: a {section} row has {count} cells, but the header has {columns}; "
                "the row is cut short or malformed",
    "st_count": "line {line}: {section} says 共{shown}条, but lists {count} rows",
    "st_total": "line {line}: {section} total {column} is {shown}, but its rows add up to {computed}",
    "st_no_column": "{section} (line {line}): no {column} column",
    "st_bad_instrument": "line {line}: 合约: {value!r} is not a contract code",
    "st_unknown_product": "line {line}: 合约: no exchange is known for product {product} ({instrument})",
    "st_future": "日期: {value} is in the future (now {now}); a statement is made after its day's close",
    "st_no_account": "line {line}: 客户号: no account {value}; import it with the clients file first",
    # -- the summary -------------------------------------------------------------------------
    "summary": "{file}: {rows} rows — {created} created, {updated} updated, "
               "{unchanged} unchanged, {skipped} skipped",
    "summary_removed": ", {removed} removed",
    "refused_rows": "{file}: {bad} bad row(s) of {rows}; nothing imported "
                    "(fix them, or pass --skip-invalid to import the good rows)",
}


def say(key: str, **values) -> str:
    """`row_word` names another row: "line" in a file (the default), "row" (an index) in an API batch."""
    return TEXTS[key].format(**{"row_word": "line", **values})
