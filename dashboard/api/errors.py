"""The error shape of the native API: {"error": {"code": ..., "message": ...}} with an HTTP status."""

from django.http import HttpResponse

from dashboard.lib.jsoncodec import dumps


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def json_response(data: object, status: int = 200, headers: dict | None = None) -> HttpResponse:
    return HttpResponse(dumps(data), status=status, content_type="application/json", headers=headers)


def error_response(error: ApiError) -> HttpResponse:
    return json_response({"error": {"code": error.code, "message": error.message}}, status=error.status)
