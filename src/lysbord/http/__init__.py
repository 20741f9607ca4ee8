"""What the HTTP doors share: the request's service context, the session and its CSRF
secret, the caller of the API, problem details, and the acceptor that serves the app.

``api``, ``web`` and ``dicomweb`` stand on this and never import each other.
"""
