complete -c imap-fetch -l maildir -d 'Deliver into the Maildir DIR (made when missing, with cur/, new/ and tmp/)' -r -f -a "(__fish_complete_directories)"
complete -c imap-fetch -l mbox -d 'Append to the mbox FILE (mboxrd; locked with fcntl and FILE.lock; made when missing)' -r -F
complete -c imap-fetch -s O -l output-dir -d 'Write each message to DIR/NNNN.eml, numbered on from the highest there' -r -f -a "(__fish_complete_directories)"
complete -c imap-fetch -l mda -d 'Pipe each message to sh -c COMMAND (procmail, maildrop...); delivered only on exit 0' -r -f -a "(__fish_complete_command)"
complete -c imap-fetch -l folder -d 'Fetch from the folder NAME as the server names it, its own hierarchy delimiter included (repeatable; instead of the URL\'s path, whose `/` are levels; UTF-8 names are sent in modified UTF-7)' -r -f
complete -c imap-fetch -l since -d 'Fetch only messages that arrived on or after DATE (YYYY-MM-DD; SEARCH SINCE)' -r
complete -c imap-fetch -l limit -d 'Fetch at most N messages per folder this run (the others wait for the next)' -r
complete -c imap-fetch -l max-size -d 'Skip (and report) messages larger than BYTES (a number, or with k, M or G)' -r
complete -c imap-fetch -l state-file -d 'Keep what was delivered in FILE (default: $XDG_STATE_HOME/posthaste/imap/USER@HOST, whatever the port)' -r -F
complete -c imap-fetch -l auth -d 'Use this SASL mechanism (SCRAM-SHA-256, PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER, EXTERNAL) instead of the best one offered' -r
complete -c imap-fetch -l oauth2-token-env -d 'Log in with the OAuth2 access token in the environment variable VAR (SASL OAUTHBEARER or XOAUTH2)' -r -f
complete -c imap-fetch -l oauth2-provider -d 'Log in with OAuth2 through a provider\'s endpoints and scopes: microsoft (Microsoft 365, Outlook.com) or google (Gmail); --oauth2-client-id is still needed' -r -f -a "microsoft\t''
google\t''"
complete -c imap-fetch -l oauth2-token-endpoint -d 'Log in with OAuth2, refreshing tokens at this token endpoint (https://)' -r -f
complete -c imap-fetch -l oauth2-device-authorization-endpoint -d 'The device authorization endpoint, for --authorize (https://)' -r -f
complete -c imap-fetch -l oauth2-client-id -d 'The OAuth2 client (application) id registered with the provider' -r -f
complete -c imap-fetch -l oauth2-client-secret-file -d 'Read the OAuth2 client secret, if the client has one, from the first line of FILE (chmod 600)' -r -F
complete -c imap-fetch -l oauth2-scope -d 'The scopes to ask for, separated by spaces (default: the provider\'s for the tool)' -r -f
complete -c imap-fetch -l oauth2-refresh-token-file -d 'Start from the refresh token on the first line of FILE (chmod 600) while the token cache holds none' -r -F
complete -c imap-fetch -l import-mbsyncrc -d 'Print mbsync\'s config file FILE (~/.mbsyncrc) as accounts of posthaste\'s config file on standard output, one per Channel (append them: >> ~/.config/posthaste/config.toml), and exit' -r -F
complete -c imap-fetch -s a -l account -d 'Take what the command line leaves out (the server, the user, the secret, TLS, the tool\'s own flags) from account NAME, [accounts.NAME] of the config file [default: its default account]' -r -f
complete -c imap-fetch -l config -d 'Read the config file FILE [default: $XDG_CONFIG_HOME/posthaste/config.toml]' -r -F
complete -c imap-fetch -l user -d 'Log in as NAME (overrides the URL\'s user)' -r -f
complete -c imap-fetch -l password-file -d 'Read the password from the first line of FILE (must not be readable by group or others)' -r -F
complete -c imap-fetch -l password-env -d 'Take the password from the environment variable VAR' -r -f
complete -c imap-fetch -l password-cmd -d 'Run CMD with sh -c and take the first line it prints as the password (pass, gpg -d, secret-tool lookup, op read...); it fails (77) when CMD fails, prints nothing or takes over 60 s' -r -f -a "(__fish_complete_command)"
complete -c imap-fetch -l netrc-file -d 'Read credentials from this netrc file instead of $NETRC or ~/.netrc, and let its entry for the host name the user too (curl\'s -n)' -r -F
complete -c imap-fetch -l tls -d 'TLS policy: auto upgrades whenever offered, required fails without TLS, none never uses it' -r -f -a "auto\t'Use TLS whenever the server offers it; never send a password in cleartext'
required\t'Fail (exit 69) when the server does not offer TLS'
none\t'Never use TLS (passwords are sent in cleartext)'"
complete -c imap-fetch -l cacert -d 'Also trust the certificates in this PEM file (a private CA, or a self-signed server)' -r -F
complete -c imap-fetch -l pin -d 'Trust exactly the server certificate with this SHA-256 fingerprint (sha256:HEX), or those with this public key (sha256//BASE64 of its SubjectPublicKeyInfo, as curl\'s --pinnedpubkey; several separated by ;), whoever signed it' -r
complete -c imap-fetch -l cert -d 'Present this client certificate (PEM, leaf first), with the private key the file holds unless --key names another; mail tools then log in with SASL EXTERNAL when no password is given' -r -F
complete -c imap-fetch -l key -d 'The private key of --cert (PEM, unencrypted; must not be readable by group or others)' -r -F
complete -c imap-fetch -l tls-server-name -d 'Check the server\'s certificate against NAME (and send NAME as SNI) instead of the host connected to' -r -f -a "(__fish_print_hostnames)"
complete -c imap-fetch -l tls-min -d 'The oldest TLS version to use [default: 1.2]' -r -f -a "1.2\t''
1.3\t''"
complete -c imap-fetch -l tls-max -d 'The newest TLS version to use [default: 1.3]' -r -f -a "1.2\t''
1.3\t''"
complete -c imap-fetch -l timeout -d 'Give up when connecting (TCP, TLS and the greeting together), or any one reply from the server, takes longer than DURATION (90, 500ms, 30s, 2m, 1h; a bare number is seconds) [default: 30s to connect, 2m a reply]' -r -f
complete -c imap-fetch -l retries -d 'Retry transient failures (exit 75 class, broken connections) N times (0 to 100), waiting 1, 2, 4... s (at most 60 s) between tries' -r -f
complete -c imap-fetch -l max-time -d 'Give up the whole run after DURATION, whatever it is waiting for on the network (a connect, a reply, a transfer, a retry) [default: no limit]' -r -f
complete -c imap-fetch -l speed-limit -d 'Give up a transfer (a download, an upload, a listing, a message) that moves less than BYTES per second (512, 2k, 1M) over --speed-time; 0 turns this off [default: 100]' -r -f
complete -c imap-fetch -l speed-time -d 'How long a transfer may stay under --speed-limit before it is given up [default: 30s, or --timeout when that is shorter]' -r -f
complete -c imap-fetch -l proxy -d 'Connect through this proxy: socks5h://HOST:PORT (the proxy resolves names), socks5://HOST:PORT (names resolved here) or http://HOST:PORT (CONNECT), a login as USER:PASSWORD@ before HOST; "" for none, whatever the environment says [default: $SCHEME_proxy, else $ALL_PROXY]' -r -f
complete -c imap-fetch -l noproxy -d 'Connect directly to these hosts: a comma-separated list of names, domains (example.com also covers mail.example.com) and IP addresses (with /BITS); * for every host [default: $NO_PROXY]' -r -f
complete -c imap-fetch -l progress -d 'Progress: auto draws a bar when stderr is a terminal, bar always, lines writes plain lines for a log, none nothing' -r -f -a "auto\t'When stderr is a terminal and --quiet is not given'
bar\t'Always (unless --quiet)'
lines\t'A plain line per file at each tenth of it or every 10 s, and one when it is done: for logs (CI), with no cursor codes (wget\'s --progress=dot)'
none\t'Never'"
complete -c imap-fetch -l generate -d 'Print the man page or a shell completion to standard output, and exit' -r -f -a "man\t'The man page (roff)'
bash\t'Bash completion'
zsh\t'Zsh completion'
fish\t'Fish completion'
elvish\t'Elvish completion'
powershell\t'PowerShell completion'"
complete -c imap-fetch -l stdout -d 'Write the messages to standard output as an mboxrd stream (a look: nothing is recorded as delivered)'
complete -c imap-fetch -l create-dirs -d 'Accepted as before, and no longer needed: every store is made when missing, with the folders above it, as a Maildir always was (one rule for the four)'
complete -c imap-fetch -l list-folders -d 'Print the server\'s folders, one a line, and exit'
complete -c imap-fetch -l new -d 'Fetch only messages above the last UID delivered (the default)'
complete -c imap-fetch -l all -d 'Fetch every message (matching --since and --unseen), delivered before or not'
complete -c imap-fetch -l all-accounts -d 'Fetch every account of the config file whose server is for this tool, one after the other, each with its own state and lock (one failing does not stop the others; the exit status is the first failure\'s)'
complete -c imap-fetch -l unseen -d 'Fetch only messages without the \\Seen flag (SEARCH UNSEEN)'
complete -c imap-fetch -l seen -d 'Set \\Seen on each message once its local copy is durable (opens the folder read-write)'
complete -c imap-fetch -l keep -d 'Leave the messages on the server (the default)'
complete -c imap-fetch -l delete -d 'Delete each message on the server once its local copy is durable (\\Deleted, then UID EXPUNGE of exactly those messages; needs UIDPLUS)'
complete -c imap-fetch -l reset-state -d 'Fetch nothing: record each folder as delivered up to its newest message, so that --new fetches only what arrives from now on'
complete -c imap-fetch -l idle -d 'After fetching, wait for new mail with IDLE and fetch it as it arrives, until SIGINT or SIGTERM (then a clean LOGOUT); one folder only'
complete -c imap-fetch -l authorize -d 'Sign in once at a terminal (the OAuth2 device authorization grant: open the URL shown, enter the code), keep the tokens in the account\'s token cache, and exit'
complete -c imap-fetch -l no-netrc -d 'Do not read any netrc file'
complete -c imap-fetch -l insecure -d 'Do not verify the server certificate at all (says so on stderr)'
complete -c imap-fetch -s 4 -l ipv4 -d 'Use IPv4 addresses only'
complete -c imap-fetch -s 6 -l ipv6 -d 'Use IPv6 addresses only'
complete -c imap-fetch -s q -l quiet -d 'Errors only: no progress bar, no notes'
complete -c imap-fetch -s v -l verbose -d 'Show the protocol transcript on stderr (C:/S: lines; passwords are never shown)'
complete -c imap-fetch -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imap-fetch -s V -l version -d 'Print version'
