#!/usr/bin/python3
"""FTPS probe used by `scripts/test-servers check` where curl falls short.

curl 7.88 (Debian 12) cannot do active-mode FTPS (it accepts the data connection but never
starts TLS on it), so active mode over TLS, and vsftpd's require_ssl_reuse, are checked here
with the standard library only.

usage: ftps_probe.py PORT CAFILE pasv|active reuse|noreuse
prints the TLS version and the bytes of hello.txt (fetched 3 times on one control
connection); with noreuse prints the server's refusal instead.
"""
import ftplib
import io
import ssl
import sys


class ReusingFTPS(ftplib.FTP_TLS):
    reuse = True

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            session = self.sock.session if self.reuse else None
            conn = self.context.wrap_socket(
                conn, server_hostname=self.host, session=session
            )
        return conn, size


def main():
    port, cafile, mode, reuse = sys.argv[1:5]
    ctx = ssl.create_default_context(cafile=cafile)
    ftp = ReusingFTPS(context=ctx, timeout=20)
    ftp.reuse = reuse == "reuse"
    ftp.connect("localhost", int(port))
    ftp.auth()
    ftp.login("phtest", "phtest-secret")
    ftp.prot_p()
    ftp.set_pasv(mode == "pasv")
    try:
        for _ in range(3):
            buf = io.BytesIO()
            ftp.retrbinary("RETR hello.txt", buf.write)
            print(ftp.sock.version(), repr(buf.getvalue()))
    except ftplib.error_perm as e:
        print("refused:", e)
        ftp.close()  # vsftpd ends the session after a 522
        return
    ftp.quit()


if __name__ == "__main__":
    main()
