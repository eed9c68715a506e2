"""Web Bot Auth (issue #16): signed requests per draft-ietf-webbotauth-httpsig-protocol.

Scrapy-free. One job per module:

- `jwk.py`: Ed25519 public keys as JWKs and their RFC 7638 thumbprint (the `keyid`);
- `key.py`: the crawler's signing key, `bot-auth.key` in the audit directory;
- `agent.py`: the `Signature-Agent` origin, the well-known URL and media type of the directory;
- `params.py`: `SignatureParams`, chosen before a request is signed (label, nonce, created,
  expires, keyid, tag, covered components);
- `message.py`: the small adapter for the request/response interface of
  `http-message-signatures`, which builds every signature base (RFC 9421);
- `sign.py`: `Signer`, the three header values for one request, and the signature base's hash;
- `verify.py`: `verify_request`, the platform side: check received header values against a key;
- `directory.py`: the key directory document and its possession-proof response signature.

In a crawl, `POLITE_CRAWL_WEB_BOT_AUTH = True` signs every request sent and
`POLITE_CRAWL_SIGNATURE_AGENT` names the https origin that serves the key directory (sent in
`Signature-Agent`); the Scrapy side is polite_crawl/shell/signing.py. See docs/bot-auth.md.
"""
