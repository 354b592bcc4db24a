from django.utils import translation


class ApiLanguageMiddleware:
    """The partner API answers in English unless the caller asks for a language; the portal
    follows the browser (zh-Hans first)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/") and "HTTP_ACCEPT_LANGUAGE" not in request.META:
            translation.activate("en")
            request.LANGUAGE_CODE = "en"
        return self.get_response(request)
