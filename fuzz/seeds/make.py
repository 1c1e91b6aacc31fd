#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz/corpus/ (realistic server replies, files and
messages); the fuzzer adds what it finds to the same folders. Run from fuzz/."""
import os

def put(target, name, data):
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)

def sel(kind, chunk):
    # Low nibble: what is read; high nibble: bytes a read (15: all at once).
    return bytes([(chunk << 4) | kind])

# wire: replies in each dialect, POP3 bodies, IMAP literals.
ftp = ("220-vsFTPd 3.0.5 ready\r\n220 welcome\r\n331 Please specify the password.\r\n"
       "230 Login successful.\r\n211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n"
       " REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n"
       "257 \"/home/ftp\" is the current directory\r\n"
       "229 Entering Extended Passive Mode (|||30012|)\r\n"
       "227 Entering Passive Mode (127,0,0,1,117,48).\r\n150 Here comes the data\r\n"
       "226 Transfer complete.\r\n213 20261207210000\r\n550 Failed to open file.\n421 bye\r\n")
smtp = ("220 mx.example.org ESMTP Postfix\r\n250-mx.example.org\r\n250-PIPELINING\r\n"
        "250-SIZE 10240000\r\n250-ETRN\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN CRAM-MD5\r\n"
        "250-AUTH=PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n"
        "250 SMTPUTF8\r\n334 VXNlcm5hbWU6\r\n235 2.7.0 Authentication successful\r\n"
        "250 2.1.0 Ok\r\n550 5.1.1 <nobody@example.org>: Recipient address rejected\r\n"
        "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as 4B1C2\r\n221 2.0.0 Bye\r\n")
pop = ("+OK Dovecot ready. <1896.697170952@dbc.mtview.ca.us>\r\n+OK\r\n-ERR [AUTH] Authentication failed.\r\n"
       "+OK 2 320\r\n+ \r\n-ERR [IN-USE] locked\r\n+OK Logged in.\r\n")
imap = ("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot ready.\r\n"
        "a1 OK [CAPABILITY IMAP4rev1 UIDPLUS] Logged in\r\n* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
        "* 3 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1733600000] UIDs valid\r\n* OK [UIDNEXT 4] Predicted next UID\r\n"
        "a2 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n* SEARCH 1 2 3\r\na3 OK Search completed.\r\n"
        "+ idling\r\n* BYE Server shutting down.\r\na4 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
body = ("+OK 120 octets\r\nReturn-Path: <a@example.org>\r\nSubject: hi\r\n\r\n..leading dot\r\nline\r\n.\r\n"
        "+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n.\r\n-ERR no such message\r\n")
lit = ("* 1 FETCH (UID 7 RFC822.SIZE 24 BODY[] {24}\r\nSubject: a\r\n\r\nhello\r\n\r\n UID 7)\r\n"
       "* 2 FETCH (BODY[] {0}\r\n)\r\n")
for i, (k, text) in enumerate([(0, ftp), (2, smtp), (4, pop), (6, imap), (8, body), (9, body), (12, lit)]):
    for chunk in (0, 15):
        put("wire", f"{i}-{chunk}", sel(k, chunk) + text.encode())
put("wire", "overlong", sel(2, 15) + b"250-" + b"x" * 5000 + b"\r\n250 ok\r\n")

# dot: message bodies.
put("dot", "message", "From: a@example.org\r\nSubject: dots\r\n\r\n.\r\n..\r\n.x\r\nend\r\n")
put("dot", "bare-lf", "line one\n.\n.hidden\nno final break")
put("dot", "lone-cr", "a\rb\r\n.\r.\r\n")
put("dot", "empty", "")

# ftp: replies and listings in every dialect.
put("ftp", "pasv", "Entering Passive Mode (192,168,1,2,195,80).\n=227 (10,0,0,1,4,1)\n(|||6446|)\n(|||0|)\n(!!!1234!)\n")
put("ftp", "feat", "Features:\n MLST type*;size*;modify*;unique*;\n UTF8\n AUTH TLS\n EPSV\n SIZE\n REST STREAM\nEnd\n")
put("ftp", "time", "20261207210000\n20261207210000.123\n19700101000000\n99991231235959.999999999\n20260230000000\n")
put("ftp", "pwd", "\"/a \"\"quoted\"\" name\" is the current directory\n\"\"\n")
put("ftp", "unix", "total 12\n-rw-r--r--    1 0        0            4096 Dec  2 10:00 readme.txt\n"
    "drwxr-xr-x    2 ftp      ftp          4096 Jan 31  2020 pub\n"
    "lrwxrwxrwx    1 0        0              11 Nov 30 23:59 latest -> release-1.2\n"
    "-rw-r--r-- 1 user group 123456789 Feb 29 2024 file with spaces.tar.gz\n"
    "crw-rw-rw-   1 root     root       1,   3 Jan  1 00:00 null\n")
put("ftp", "dos", "12-02-26  10:00AM       <DIR>          folder\n01-31-2020  11:59PM             123456 file.bin\n"
    "2026-12-02  23:00               1 iso.txt\n")
put("ftp", "mlsd", "type=cdir;modify=20261202100000; .\ntype=file;size=13;modify=20261202100000;unique=801g1f; hello.txt\n"
    "type=dir;modify=20200131000000; sub dir\ntype=OS.unix=slink:/etc/target;size=7; link\nUnix.mode=0644;type=file; x\n")
put("ftp", "eplf", "+i8388621.29609,m824255902,/,\tdev\n+i8388621.44468,m839956783,r,s10376,\tRFCEPLF\n")
put("ftp", "glob", "*.txt readme.txt\n[a-c]?? abc\n[!x]* y\n.hidden .hidden\nsub/../x ../x\n")

# smtp: -t messages and address lists.
put("smtp", "message", "From: \"Lovelace, Ada\" <ada@example.com>\r\nTo: bob@example.org, Team: carol@example.org, dan@example.org;\r\n"
    "Cc: <eve@example.org>\r\nBcc: hidden@example.org\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"
    "Message-ID: <1@example.com>\r\n\r\nBody line\r\n.dot\r\n")
put("smtp", "resent", "Resent-To: a@b.example\nResent-Bcc: c@d.example\nTo: old@example.org\n folded@example.org\nSubject: x\n\nbody\n")
put("smtp", "addresses", "(comment) a@b (c), \"q\\\"uoted\" <x@[127.0.0.1]>\nundisclosed-recipients:;\n<@route:a@b>\n\"a b\"@example.org\n")
put("smtp", "no-blank", "To: a@example.org\nbody without a blank line\n")

# pop3
put("pop3", "session", "+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\nTOP\r\nUSER\r\nSASL PLAIN LOGIN XOAUTH2\r\nUIDL\r\nPIPELINING\r\nSTLS\r\n"
    "+OK 2 320\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n-ERR [SYS/TEMP] try later\r\n")

# imap
put("imap", "untagged", "* 3 EXISTS\r\n* 2 EXPUNGE\r\n* SEARCH 1 2 3 7 8 9 4294967295\r\n* SEARCH 5 (MODSEQ 917162500)\r\n"
    "* CAPABILITY IMAP4rev2 AUTH=PLAIN AUTH=XOAUTH2 LITERAL+\r\n* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
    "* LIST (\\Noselect \\HasChildren) \".\" \"Public &AOk-t&AOk-\"\r\n* LIST () NIL {5}\r\n"
    "CAPABILITY IMAP4rev1 STARTTLS\r\nUIDVALIDITY 3857529045\r\n2026-12-07\r\n")
put("imap", "fetch", "(UID 7 RFC822.SIZE 24 FLAGS (\\Seen) BODY[] {24}\r\nSubject: a\r\n\r\nhello\r\n\r\n BODY[HEADER.FIELDS (TO)] {5}\r\nTo: x UID 7)\r\n")
put("imap", "fetch-nil", "(UID 9 BODY[] NIL)\r\n")

# utf7
for n, s in [("ascii", "INBOX.Sent"), ("amp", "Tom & Jerry"), ("latin", "Public &AOk-t&AOk-"),
             ("cjk", "&ZeVnLIqe-"), ("utf8", "Entwürfe/日本語"), ("bad", "&AOk&-")]:
    put("utf7", n, s)

# mbox
put("mbox", "message", "Return-Path: <ada@example.com>\nSubject: from lines\n\nFrom here\n>From there\n>>From everywhere\nFrom\nFro")
put("mbox", "no-header", "From the start\n")
put("mbox", "crlf", "Subject: x\r\n\r\nFrom \r\n")

# mime: a subject/file name line, then a body.
put("mime", "text", "Grüße aus Köln — résumé.pdf\nline two\r\n\ttab  \nend")
put("mime", "ascii", "Quarterly report 2026 Q4\nplain body\n")
put("mime", "binary", bytes(range(256)))
put("mime", "long", "word " * 40 + "\n" + "x" * 200 + " \n")

# netrc_url
put("netrc_url", "netrc", "ftp.example.org ada\nmachine ftp.example.org login ada password s3cret\nmacdef init\ncd /pub\n\n"
    "machine mail.example.org login \"bob smith\" password \"p w\"\ndefault login anonymous password guest\n"
    "ftp://ada:s%40cret@ftp.example.org:2121/pub/file.txt;type=a\nimaps://bob@[::1]:993/INBOX\npop3://u%20ser@host\n"
    "smtp://mx.example.org:587\nftp://host//abs/path\nftps://xn--bcher-kva.example/\n")

# proxy: URL, no_proxy, host, then the proxy's reply.
put("proxy", "socks5", b"socks5h://user:pw@127.0.0.1:1080\nlocalhost,.example.org,10.0.0.0/8,::1\nmail.example.org\n"
    + bytes([5, 2, 1, 0, 5, 0, 0, 1, 127, 0, 0, 1, 0x03, 0xe1]))
put("proxy", "socks5-name", b"socks5://proxy\n*\nhost\n" + bytes([5, 0, 5, 0, 0, 3, 4]) + b"host" + bytes([0, 21]))
put("proxy", "http", "http://proxy.example:3128\n\n10.1.2.3\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Connection established\r\nProxy-Agent: x\r\n\r\n")
put("proxy", "http-407", "proxy.example\n.example.org\nexample.org\nHTTP/1.0 407 Proxy Authentication Required\r\n\r\n")

# config: first byte picks config (0), msmtp/mpop (1), mbsync (2), aliases and state (3).
put("config", "config", b"\x00" + b"""default = "work"
[ftp-get]
retries = 3
[accounts.work]
url = "imaps://ada@mail.example.org/INBOX"
password-file = "~/.secret"
tls = "required"
[accounts.work.pop-fetch]
delete = true
[accounts.gmail]
url = "smtps://ada@smtp.gmail.com"
oauth2 = "google"
senders = ["ada@gmail.com", "*@example.com"]
""")
put("config", "msmtp", b"\x01" + b"""# msmtprc
defaults
auth on
tls on
tls_trust_file /etc/ssl/certs/ca-certificates.crt
logfile ~/.msmtp.log

account work
host smtp.example.org
port 587
from ada@example.org
user ada
passwordeval "pass show work"

account gmail : work
host smtp.gmail.com
auth oauthbearer
tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF
delivery maildir ~/Mail/inbox
keep on
only_new on

account default : work
""")
put("config", "mbsync", b"\x02" + b"""IMAPAccount work
Host imap.example.org
User ada
PassCmd "pass show work"
SSLType IMAPS
CertificateFile ~/ca.pem

IMAPStore work-remote
Account work

MaildirStore work-local
Path ~/Mail/work/
Inbox ~/Mail/work/INBOX
SubFolders Verbatim

Channel work
Far :work-remote:
Near :work-local:
Patterns * !Trash
Create Near
Sync Pull
Expunge None
""")
put("config", "aliases", b"\x03" + b"# /etc/aliases\nroot: ada@example.org, bob\npostmaster: root\ndefault: admin@example.org\n")
put("config", "state", b"\x03" + b"posthaste-uidl 2\nuidvalidity 1733600000\n\n1 s=120\nwhqtswO00WBw418f9t5JxYwZ s=300,d\n")

# oauth2
put("oauth2", "token", '{"access_token":"ya29.a0","expires_in":3599,"refresh_token":"1//0g","scope":"https://mail.google.com/","token_type":"Bearer"}')
put("oauth2", "device", '{"device_code":"AH-1","user_code":"GQVQ-JKEC","verification_url":"https://www.google.com/device","expires_in":"1800","interval":5}')
put("oauth2", "error", '{"error":"authorization_pending","error_description":"wait"}')
put("oauth2", "cache", '{"token_endpoint":"https://oauth2.googleapis.com/token","client_id":"x","user":"ada","access_token":"t","expires_at":1796212800,"refresh_token":"r"}')
put("oauth2", "huge", '{"expires_in":18446744073709551615}')

# pop3_session: a whole session, the server's side.
sess = ("+OK ready <1.2@host>\r\n+OK\r\nUSER\r\nUIDL\r\nPIPELINING\r\nTOP\r\n.\r\n+OK\r\n+OK logged in\r\n"
        "+OK\r\nUSER\r\nUIDL\r\nPIPELINING\r\n.\r\n+OK 2 300\r\n+OK\r\n1 100\r\n2 200\r\n.\r\n+OK\r\n1 a\r\n2 b\r\n.\r\n"
        "+OK\r\nSubject: 1\r\n\r\n..dot\r\n.\r\n+OK\r\nSubject: 2\r\n\r\nx\r\n.\r\n+OK\r\n+OK\r\n+OK bye\r\n")
put("pop3_session", "pipelined", b"\xf0" + sess.encode())
put("pop3_session", "bytewise", b"\x00" + sess.encode())
put("pop3_session", "top", b"\xf1" + sess.encode())
put("pop3_session", "no-capa", b"\xf0" + b"+OK ready\r\n-ERR no CAPA\r\n+OK\r\n+OK in\r\n-ERR\r\n+OK 0 0\r\n+OK\r\n.\r\n-ERR no UIDL\r\n+OK bye\r\n")

# smtp_session: a whole session, the server's side. The selector's low bits: 1 log in,
# 2 deliver to those accepted, 4 BDAT when offered; high nibble: bytes a read.
ehlo = ("220 mx.example.org ESMTP\r\n250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
        "250-AUTH PLAIN LOGIN\r\n250-CHUNKING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n")
one = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 go on\r\n250 2.0.0 Ok: queued as A1\r\n"
put("smtp_session", "pipelined", b"\xf1" + (ehlo + "235 2.7.0 Ok\r\n" + one * 2 + "221 2.0.0 Bye\r\n").encode())
put("smtp_session", "bytewise", b"\x01" + (ehlo + "235 2.7.0 Ok\r\n" + one * 2 + "221 2.0.0 Bye\r\n").encode())
bdat = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: queued as B2\r\n"
put("smtp_session", "bdat", b"\xf4" + (ehlo + bdat * 2 + "221 Bye\r\n").encode())
helo = ("220 old.example.org\r\n502 5.5.2 no EHLO\r\n250 old.example.org\r\n"
        + ("250 Ok\r\n250 Ok\r\n550 5.1.1 no such user\r\n354 go on\r\n250 Ok\r\n") * 2 + "221 Bye\r\n")
put("smtp_session", "helo-partial", b"\xf2" + helo.encode())
put("smtp_session", "short-refused", b"\xf0" + (ehlo + "550 5.7.1 relaying denied\r\n250 2.0.0 Ok\r\n").encode())

# imap_session: a whole session, the server's side. The selector's low bits: 1 EXAMINE,
# 2 ask the sizes first, 4 STORE and UID EXPUNGE, 8 IDLE; high nibble: bytes a read.
def imap_sess(sizes, update, idle):
    t = ["* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ IDLE AUTH=PLAIN] Dovecot ready.\r\n",
         "a1 OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ IDLE UIDPLUS MOVE] Logged in\r\n",
         '* LIST (\\HasNoChildren) "." INBOX\r\n* LIST (\\HasChildren) "." Archive\r\na2 OK List completed.\r\n',
         "* FLAGS (\\Seen \\Deleted)\r\n* 3 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1733600000] UIDs valid\r\n"
         "* OK [UIDNEXT 8] next\r\na3 OK [READ-WRITE] Select completed.\r\n",
         "* SEARCH 3 5 7\r\na4 OK Search completed.\r\n"]
    n = 5
    if sizes:
        t.append("* 1 FETCH (UID 3 RFC822.SIZE 21)\r\n* 2 FETCH (UID 5 RFC822.SIZE 19)\r\n"
                 f"* 3 FETCH (UID 7 RFC822.SIZE 2)\r\na{n} OK Fetch completed.\r\n")
        n += 1
    m1, m2 = "Subject: one\r\n\r\nhello\r\n", "Subject: two\r\n\r\nbye\r\n"
    t.append(f"* 1 FETCH (UID 3 RFC822.SIZE {len(m1)} BODY[] {{{len(m1)}}}\r\n{m1})\r\n"
             f"* 2 FETCH (UID 5 RFC822.SIZE {len(m2)} BODY[] {{{len(m2)}}}\r\n{m2})\r\n"
             "* 4 EXISTS\r\n* 3 FETCH (FLAGS (\\Seen) UID 7 RFC822.SIZE 2 BODY[] {2}\r\nx\n)\r\n"
             f"a{n} OK Fetch completed.\r\n")
    n += 1
    if update:
        t.append(f"a{n} OK Store completed.\r\n* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n* 1 EXPUNGE\r\na{n + 1} OK Expunge completed.\r\n")
        n += 2
    if idle:
        t.append(f"+ idling\r\n* 5 EXISTS\r\na{n} OK Idle completed.\r\n")
        n += 1
    t.append(f"* BYE Logging out\r\na{n} OK Logout completed.\r\n")
    return "".join(t).encode()
put("imap_session", "plain", b"\xf0" + imap_sess(False, False, False))
put("imap_session", "examine-bytewise", b"\x01" + imap_sess(False, False, False))
put("imap_session", "everything", b"\xfe" + imap_sess(True, True, True))
put("imap_session", "sizes-idle", b"\x3a" + imap_sess(True, False, True))
put("imap_session", "short-no-login", b"\xf0" + b"* OK ready\r\n* CAPABILITY IMAP4rev1 LOGINDISABLED\r\na1 OK\r\n")

# ftp_session: the control connection, the server's side. The selector's low bits: 1 TYPE A,
# 2 set a modification time; high nibble: bytes a read.
ftp_login = ("220-vsFTPd 3.0.5\r\n220 ready\r\n331 Please specify the password.\r\n230 Login successful.\r\n"
             "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n MFMT\r\n MLST type*;size*;modify*;\r\n PASV\r\n"
             " REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n")
ftp_ops = ("200 Always in UTF8 mode.\r\n200 Switching to Binary mode.\r\n213 4096\r\n213 20261207210000\r\n"
           "250-Listing pub\r\n type=dir;modify=20261207210000; /pub\r\n250 End\r\n"
           "550 Failed to change directory.\r\n257 \"/pub/new\" created\r\n"
           "350 Ready for RNTO.\r\n250 Rename successful.\r\n250 Delete operation successful.\r\n")
put("ftp_session", "plain", b"\xf0" + (ftp_login + ftp_ops + "200 NOOP ok.\r\n221 Goodbye.\r\n").encode())
put("ftp_session", "bytewise-mtime", b"\x02" + (ftp_login + ftp_ops + "213 Modify=20261207210000; pub/a\r\n200 NOOP ok.\r\n221 Goodbye.\r\n").encode())
put("ftp_session", "short-refused", b"\xf0" + b"220 hi\r\n331 pw\r\n530 Login incorrect.\r\n")

# ftp_data: the control connection, then each data connection's bytes after "\0DATA\0".
# Selector as ftp_session's (1: TYPE A).
def ftp_data(pasv):
    if pasv:
        # EPSV refused once: PASV from then on (the address in the reply is never used).
        open_data = ["500 EPSV not understood\r\n227 Entering Passive Mode (10,0,0,9,117,48).\r\n"] + \
            ["227 Entering Passive Mode (127,0,0,1,117,48).\r\n"] * 4
    else:
        open_data = ["229 Entering Extended Passive Mode (|||30012|)\r\n"] * 5
    ctl = (ftp_login + "200 Always in UTF8 mode.\r\n200 Switching to Binary mode.\r\n213 11\r\n"
           + open_data[0] + "150 Opening BINARY mode data connection for pub/a (11 bytes).\r\n226 Transfer complete.\r\n"
           + open_data[1] + "350 Restart position accepted (5).\r\n150 Opening BINARY mode data connection.\r\n226 Transfer complete.\r\n"
           + open_data[2] + "150 Here comes the directory listing.\r\n226 Directory send OK.\r\n"
           + open_data[3] + "150 Here comes the directory listing.\r\n226 Directory send OK.\r\n"
           + open_data[4] + "150 Ok to send data.\r\n226 Transfer complete.\r\n221 Goodbye.\r\n")
    data = ["hello world", " world",
            "type=file;size=11;modify=20261207210000;unique=801g4804; a\r\ntype=dir;modify=20261207210000; sub\r\n",
            "-rw-r--r--    1 1000     1000           11 Dec 07 21:00 a\r\ndrwxr-xr-x    2 1000     1000         4096 Dec 07 21:00 sub\r\n",
            ""]
    return (ctl + "".join("\0DATA\0" + d for d in data)).encode()
put("ftp_data", "epsv", b"\xf0" + ftp_data(False))
put("ftp_data", "pasv-bytewise", b"\x00" + ftp_data(True))
put("ftp_data", "short-longer-than-size", b"\xf0" + (ftp_login + "200 Always in UTF8 mode.\r\n200 Switching to Binary mode.\r\n213 3\r\n"
    "229 Entering Extended Passive Mode (|||30012|)\r\n150 Here it comes.\r\n226 Transfer complete.\r\n").encode() + b"\0DATA\0hello world")
