complete -c smtp-send -l server -d 'The server: smtp://HOST (STARTTLS; smtp://HOST:587 for submission) or smtps://HOST (port 465); a bare HOST or HOST:PORT is smtp://' -r -f
complete -c smtp-send -s f -s r -l from -d 'Envelope sender, and the From header when the message has none (\'<>\' or \'\': the null sender of bounces and vacation replies) [default: the From header\'s address]' -r
complete -c smtp-send -s F -l full-name -d 'The display name for the From header that --from adds' -r
complete -c smtp-send -l file -d 'Read the message from FILE instead of standard input; repeat to send several over one connection' -r -F
complete -c smtp-send -l helo -d 'The name to give in EHLO [default: the local host name]' -r
complete -c smtp-send -l subject -d 'Make the message from plain text on standard input (or --file), with this Subject (RFC 2047-encoded when not ASCII), From, To (--to), Date, Message-ID and a text/plain UTF-8 body' -r
complete -c smtp-send -l to -d 'With --subject: a recipient, in To (repeat, or separate with commas)' -r
complete -c smtp-send -s N -l notify -d 'Ask for delivery status notifications (DSN, when the server offers it): NEVER, or SUCCESS, FAILURE and DELAY separated by commas (sendmail\'s -N)' -r
complete -c smtp-send -s R -l ret -d 'What a DSN returns of the message: FULL or HDRS (sendmail\'s -R)' -r -f -a "FULL\t''
HDRS\t''"
complete -c smtp-send -l envid -d 'An envelope identifier for DSNs (printable ASCII)' -r
complete -c smtp-send -l log -d 'Append one line per message to FILE: time, server, sender, recipients, size, the final reply and the exit status' -r -F
complete -c smtp-send -l aliases -d 'Replace each recipient without @ (cron\'s root) by its addresses in FILE, msmtp\'s aliases file: lines NAME: ADDRESS, ADDRESS..., # comments, default: for every name not listed; one level, and headers are left as they are' -r -F
complete -c smtp-send -l maildomain -d 'Complete a recipient still without @ after --aliases, and a sender without @, as NAME@DOMAIN; with no -f and no From header the sender is LOGIN@DOMAIN (msmtp\'s auto_from)' -r
complete -c smtp-send -s o -d 'sendmail\'s options: -oi (as -i), -oem, -oep, -oeq, -oew (errors are always reported on stderr with the exit status)' -r
complete -c smtp-send -s B -d 'sendmail\'s body type: 7BIT or 8BITMIME (8BITMIME is declared whenever the server offers it)' -r -f -a "7BIT\t''
8BITMIME\t''"
complete -c smtp-send -s b -d 'sendmail\'s mode: only -bm (deliver a message) is supported' -r -f -a "m\t''"
complete -c smtp-send -l auth -d 'Log in with this SASL mechanism (SCRAM-SHA-256, PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER, EXTERNAL) [default: the best the server offers]' -r
complete -c smtp-send -l oauth2-token-env -d 'Log in with the OAuth2 access token in the environment variable VAR (OAUTHBEARER or XOAUTH2; needs --user)' -r -f
complete -c smtp-send -l oauth2-provider -d 'Log in with OAuth2 through a provider\'s endpoints and scopes: microsoft (Microsoft 365, Outlook.com) or google (Gmail); --oauth2-client-id is still needed' -r -f -a "microsoft\t''
google\t''"
complete -c smtp-send -l oauth2-token-endpoint -d 'Log in with OAuth2, refreshing tokens at this token endpoint (https://)' -r -f
complete -c smtp-send -l oauth2-device-authorization-endpoint -d 'The device authorization endpoint, for --authorize (https://)' -r -f
complete -c smtp-send -l oauth2-client-id -d 'The OAuth2 client (application) id registered with the provider' -r -f
complete -c smtp-send -l oauth2-client-secret-file -d 'Read the OAuth2 client secret, if the client has one, from the first line of FILE (chmod 600)' -r -F
complete -c smtp-send -l oauth2-scope -d 'The scopes to ask for, separated by spaces (default: the provider\'s for the tool)' -r -f
complete -c smtp-send -l oauth2-refresh-token-file -d 'Start from the refresh token on the first line of FILE (chmod 600) while the token cache holds none' -r -F
complete -c smtp-send -l import-msmtprc -d 'Print msmtp\'s config file FILE (~/.msmtprc) as accounts of posthaste\'s config file on standard output (append them: >> ~/.config/posthaste/config.toml), and exit' -r -F
complete -c smtp-send -s a -l account -d 'Take what the command line leaves out (the server, the user, the secret, TLS, the tool\'s own flags) from account NAME, [accounts.NAME] of the config file [default: its default account]' -r -f
complete -c smtp-send -l config -d 'Read the config file FILE [default: $XDG_CONFIG_HOME/posthaste/config.toml]' -r -F
complete -c smtp-send -l user -d 'Log in as NAME (overrides the URL\'s user)' -r -f
complete -c smtp-send -l password-file -d 'Read the password from the first line of FILE (must not be readable by group or others)' -r -F
complete -c smtp-send -l password-env -d 'Take the password from the environment variable VAR' -r -f
complete -c smtp-send -l password-cmd -d 'Run CMD with sh -c and take the first line it prints as the password (pass, gpg -d, secret-tool lookup, op read...); it fails (77) when CMD fails, prints nothing or takes over 60 s' -r -f -a "(__fish_complete_command)"
complete -c smtp-send -l netrc-file -d 'Read credentials from this netrc file instead of $NETRC or ~/.netrc, and let its entry for the host name the user too (curl\'s -n)' -r -F
complete -c smtp-send -l tls -d 'TLS policy: auto upgrades whenever offered, required fails without TLS, none never uses it' -r -f -a "auto\t'Use TLS whenever the server offers it; never send a password in cleartext'
required\t'Fail (exit 69) when the server does not offer TLS'
none\t'Never use TLS (passwords are sent in cleartext)'"
complete -c smtp-send -l cacert -d 'Also trust the certificates in this PEM file (a private CA, or a self-signed server)' -r -F
complete -c smtp-send -l pin -d 'Trust exactly the server certificate with this SHA-256 fingerprint (sha256:HEX), or those with this public key (sha256//BASE64 of its SubjectPublicKeyInfo, as curl\'s --pinnedpubkey; several separated by ;), whoever signed it' -r
complete -c smtp-send -l cert -d 'Present this client certificate (PEM, leaf first), with the private key the file holds unless --key names another; mail tools then log in with SASL EXTERNAL when no password is given' -r -F
complete -c smtp-send -l key -d 'The private key of --cert (PEM, unencrypted; must not be readable by group or others)' -r -F
complete -c smtp-send -l tls-server-name -d 'Check the server\'s certificate against NAME (and send NAME as SNI) instead of the host connected to' -r -f -a "(__fish_print_hostnames)"
complete -c smtp-send -l tls-min -d 'The oldest TLS version to use [default: 1.2]' -r -f -a "1.2\t''
1.3\t''"
complete -c smtp-send -l tls-max -d 'The newest TLS version to use [default: 1.3]' -r -f -a "1.2\t''
1.3\t''"
complete -c smtp-send -l timeout -d 'Give up when connecting (TCP, TLS and the greeting together), or any one reply from the server, takes longer than DURATION (90, 500ms, 30s, 2m, 1h; a bare number is seconds) [default: 30s to connect, 2m a reply]' -r -f
complete -c smtp-send -l retries -d 'Retry transient failures (exit 75 class, broken connections) N times (0 to 100), waiting 1, 2, 4... s (at most 60 s) between tries' -r -f
complete -c smtp-send -l max-time -d 'Give up the whole run after DURATION, whatever it is waiting for on the network (a connect, a reply, a transfer, a retry) [default: no limit]' -r -f
complete -c smtp-send -l speed-limit -d 'Give up a transfer (a download, an upload, a listing, a message) that moves less than BYTES per second (512, 2k, 1M) over --speed-time; 0 turns this off [default: 100]' -r -f
complete -c smtp-send -l speed-time -d 'How long a transfer may stay under --speed-limit before it is given up [default: 30s, or --timeout when that is shorter]' -r -f
complete -c smtp-send -l proxy -d 'Connect through this proxy: socks5h://HOST:PORT (the proxy resolves names), socks5://HOST:PORT (names resolved here) or http://HOST:PORT (CONNECT), a login as USER:PASSWORD@ before HOST; "" for none, whatever the environment says [default: $SCHEME_proxy, else $ALL_PROXY]' -r -f
complete -c smtp-send -l noproxy -d 'Connect directly to these hosts: a comma-separated list of names, domains (example.com also covers mail.example.com) and IP addresses (with /BITS); * for every host [default: $NO_PROXY]' -r -f
complete -c smtp-send -l generate -d 'Print the man page or a shell completion to standard output, and exit' -r -f -a "man\t'The man page (roff)'
bash\t'Bash completion'
zsh\t'Zsh completion'
fish\t'Fish completion'
elvish\t'Elvish completion'
powershell\t'PowerShell completion'"
complete -c smtp-send -s t -d 'Also send to the addresses in To, Cc and Bcc (Resent-To, -Cc, -Bcc when present)'
complete -c smtp-send -l quoted-printable -d 'With --subject: send the text quoted-printable (mime-pack\'s encoding), so that lines longer than SMTP\'s 998 octets, lone CRs and NULs arrive as they are [default: when the text holds one, as mime-pack chooses]'
complete -c smtp-send -l syslog -d 'Log that line to syslog (facility mail) too'
complete -c smtp-send -l allow-bare-cr -d 'Send a lone CR (one not followed by LF) as it is instead of refusing the message'
complete -c smtp-send -l no-chunking -d 'Send the message with DATA even when the server offers CHUNKING (BDAT)'
complete -c smtp-send -l partial -d 'When some recipients are refused, send to the others (and exit 67, or 79 when they were refused only for now; stderr says who got it)'
complete -c smtp-send -s i -d 'sendmail\'s -i: a line with a single dot does not end the message (it never does here)'
complete -c smtp-send -l authorize -d 'Sign in once at a terminal (the OAuth2 device authorization grant: open the URL shown, enter the code), keep the tokens in the account\'s token cache, and exit'
complete -c smtp-send -l no-netrc -d 'Do not read any netrc file'
complete -c smtp-send -l insecure -d 'Do not verify the server certificate at all (says so on stderr)'
complete -c smtp-send -s 4 -l ipv4 -d 'Use IPv4 addresses only'
complete -c smtp-send -s 6 -l ipv6 -d 'Use IPv6 addresses only'
complete -c smtp-send -s q -l quiet -d 'Errors only: no notes, no list of the recipients accepted'
complete -c smtp-send -s v -l verbose -d 'Show the SMTP transcript on stderr (C:/S: lines), and each recipient accepted'
complete -c smtp-send -s h -l help -d 'Print help (see more with \'--help\')'
complete -c smtp-send -s V -l version -d 'Print version'
