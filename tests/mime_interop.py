"""Parses a message with Python's email package (policy=default) and prints what a reader
sees, one tab-separated line per leaf part, for tests/it/mime_pack.rs to compare:

    header<TAB>subject<TAB>from display names<TAB>number of defects
    part<TAB>content type<TAB>filename or -<TAB>content-id or -<TAB>sha256 of decoded bytes<TAB>defects

Text parts are hashed after decoding to str and back to UTF-8 with line breaks as LF, so
that the comparison does not depend on the transfer encoding's canonical CRLF.
"""
import email
import email.policy
import hashlib
import sys

with open(sys.argv[1], "rb") as f:
    msg = email.message_from_binary_file(f, policy=email.policy.default)

names = ",".join(a.display_name for a in msg["from"].addresses)
print("header", msg["subject"] or "", names, len(msg.defects), sep="\t")
for part in msg.walk():
    if part.is_multipart():
        if part.defects:
            print("defect", part.get_content_type(), part.defects, sep="\t")
        continue
    ctype = part.get_content_type()
    if ctype.startswith("text/") and part.get_content_disposition() != "attachment" and part.get_param("charset"):
        data = part.get_content().replace("\r\n", "\n").encode("utf-8")
    else:
        data = part.get_payload(decode=True) or b""
    print(
        "part",
        ctype,
        part.get_filename() or "-",
        (part["content-id"] or "-"),
        hashlib.sha256(data).hexdigest(),
        len(part.defects),
        sep="\t",
    )
