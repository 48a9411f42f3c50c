"""The steps of reading an uploaded lead list, one concern each; the entry point and the report
types are ``engine.leads.csv_import``.

* ``decoding`` - bytes to text (binary formats refused, BOM / UTF-16 / UTF-8, else a detected code page).
* ``dialect``  - text to CSV records (delimiter, Excel's ``sep=`` line, line numbers).
* ``aliases``  - header spellings that mean email, first/last name, company, full name.
* ``layout``   - the header row to a column layout (email column found or guessed).
* ``rows``     - one row's email checked and normalised, its other cells cleaned.
* ``names``    - name cells trimmed and re-cased, full names split.
* ``cells``    - what any cell's text becomes (one line, no control characters, capped).
* ``workbook`` - an Excel workbook (.xlsx/.xlsm) told apart by its first bytes, its sheet read
  as CSV text for the steps above; encrypted, .xls and damaged files refused.
"""
