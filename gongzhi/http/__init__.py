"""The HTTP face of gongzhi: the starlette app (``app.create_app``), its request pipeline, and every
route — GraphQL, the WebSocket, uploads, ledgers, the partner token endpoint, the platform API and
the demo explorer."""
