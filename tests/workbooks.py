"""XLSForm workbooks built in memory, so no binary files are committed."""

import io

import openpyxl
import xlwt

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"  # an upload's media type
XLS = "application/vnd.ms-excel"
Sheet = list[list[object]]


def build_xlsx(
    survey: Sheet,
    choices: Sheet | None = None,
    settings: Sheet | None = None,
    *,
    external_choices: Sheet | None = None,
) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    for row in survey:
        sheet.append(row)
    for title, rows in (("choices", choices), ("settings", settings), ("external_choices", external_choices)):
        if rows:
            extra = book.create_sheet(title)
            for row in rows:
                extra.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def build_xls(survey: Sheet, choices: Sheet | None = None, settings: Sheet | None = None) -> bytes:
    """The same workbook in Excel's old binary format (.xls), which coordinators' older files still use."""
    book = xlwt.Workbook()
    for title, rows in (("survey", survey), ("choices", choices), ("settings", settings)):
        if rows:
            sheet = book.add_sheet(title)
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    if value is not None:
                        sheet.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
