"""Listed futures products and their exchanges, for data that names a contract but not its
exchange (a settlement statement's 持仓汇总 without a 交易所 column).

Written from the six exchanges' product lists as of 2026 (not exhaustive: options and new listings
may be missing; a code missing here is refused by name, never guessed). Product codes are matched
case-insensitively: CZCE and CFFEX spell theirs in upper case, the others in lower case.
"""
from __future__ import annotations

LISTED = {
    "SHFE": "cu al zn pb ni sn au ag rb wr hc ss fu bu ru sp ao br",
    "INE": "sc lu nr bc ec",
    "DCE": "a b m y p c cs jd rr l v pp eb eg pg fb bb lh i j jm",
    "CZCE": "WH PM CY CF SR TA OI RI RM RS JR LR CJ PK FG SF SM ZC UR SA PF PX SH PR MA AP",
    "CFFEX": "IF IH IC IM TS TF T TL IO MO HO",
    "GFEX": "si lc ps",
}
EXCHANGE_OF = {code.lower(): exchange for exchange, codes in LISTED.items() for code in codes.split()}
