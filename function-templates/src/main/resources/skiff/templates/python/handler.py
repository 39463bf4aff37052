def handle(event, context):
    """Answer one call to this function.

    event   the HTTP request:
              event.body     bytes
              event.headers  case-insensitive dict, e.g. event.headers["content-type"]
              event.method   "GET", "POST", ...
              event.path     request path, without the query string
              event.query    dict of query parameters (first value of each);
                             event.query_list has every value as a list
    context about this call:
              context.function_name, context.hostname,
              context.call_id (the X-Call-Id header, or None)

    Return one of:
      str or bytes   sent as the body with status 200
      None           empty 200 response
      dict or list   sent as JSON
      {"statusCode": 201, "headers": {"X-Thing": "1"}, "body": ...}
                     full control; body may be str, bytes, dict/list (JSON) or None

    An exception becomes a 500 response; print() output goes to the function's logs.
    """
    body = event.body.decode("utf-8", errors="replace")
    return "Hello, " + (body or "world")
