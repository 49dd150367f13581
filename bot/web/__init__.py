"""The web app: demo website with the chat widget, chat API, agent console (``python -m bot.web``).

See docs/design/web-app.md for the message flow and the API.
"""
