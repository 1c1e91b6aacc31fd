complete -c pop-fetch -l maildir -d 'Deliver into the Maildir DIR (made when missing, with cur/, new/ and tmp/)' -r -f -a "(__fish_complete_directories)"
complete -c pop-fetch -l mbox -d 'Append to the mbox FILE (mboxrd; locked with fcntl and FILE.lock; made when missing)' -r -F
complete -c pop-fetch -s O -l output-dir -d 'Write each message to DIR/NNNN.eml, numbered on from the highest there' -r -f -a "(__fish_complete_directories)"
complete -c pop-fetch -l mda -d 'Pipe each message to sh -c COMMAND (procmail, maildrop...); delivered only on exit 0' -r -f -a "(__fish_complete_command)"
complete -c pop-fetch -l state-file -d 'Keep the UIDLs of delivered messages in FILE (default: $XDG_STATE_HOME/posthaste/pop/USER@HOST, whatever the port)' -r -F
complete -c pop-fetch -l max-size -d 'Skip (and report) messages larger than BYTES (a number, or with k, M or G)' -r
complete -c pop-fetch -l limit -d 'Fetch at most N messages this run (the others wait for the next)' -r
complete -c pop-fetch -l auth -d 'How to log in: auto (the best the server offers), user (USER/PASS), apop, or a SASL mechanism: scram-sha-256, plain, login, cram-md5, xoauth2, oauthbearer, external (the --cert client certificate)' -r -f -a "auto\t''
user\t''
apop\t''
scram-sha-256\t''
plain\t''
login\t''
cram-md5\t''
xoauth2\t''
external\t''
oauthbearer\t''"
complete -c pop-fetch -l oauth2-token-env -d 'Log in with the OAuth2 access token in the environment variable VAR (SASL OAUTHBEARER or XOAUTH2)' -r -f
complete -c pop-fetch -l oauth2-provider -d 'Log in with OAuth2 through a provider\'s endpoints and scopes: microsoft (Microsoft 365, Outlook.com) or google (Gmail); --oauth2-client-id is still needed' -r -f -a "microsoft\t''
google\t''"
complete -c pop-fetch -l oauth2-token-endpoint -d 'Log in with OAuth2, refreshing tokens at this token endpoint (https://)' -r -f
complete -c pop-fetch -l oauth2-device-authorization-endpoint -d 'The device authorization endpoint, for --authorize (https://)' -r -f
complete -c pop-fetch -l oauth2-client-id -d 'The OAuth2 client (application) id registered with the provider' -r -f
complete -c pop-fetch -l oauth2-client-secret-file -d 'Read the OAuth2 client secret, if the client has one, from the first line of FILE (chmod 600)' -r -F
complete -c pop-fetch -l oauth2-scope -d 'The scopes to ask for, separated by spaces (default: the provider\'s for the tool)' -r -f
complete -c pop-fetch -l oauth2-refresh-token-file -d 'Start from the refresh token on the first line of FILE (chmod 600) while the token cache holds none' -r -F
complete -c pop-fetch -l import-mpoprc -d 'Print mpop\'s config file FILE (~/.mpoprc) as accounts of posthaste\'s config file on standard output (append them: >> ~/.config/posthaste/config.toml), and exit' -r -F
complete -c pop-fetch -s a -l account -d 'Take what the command line leaves out (the server, the user, the secret, TLS, the tool\'s own flags) from account NAME, [accounts.NAME] of the config file [default: its default account]' -r -f
complete -c pop-fetch -l config -d 'Read the config file FILE [default: $XDG_CONFIG_HOME/posthaste/config.toml]' -r -F
complete -c pop-fetch -l user -d 'Log in as NAME (overrides the URL\'s user)' -r -f
complete -c pop-fetch -l password-file -d 'Read the password from the first line of FILE (must not be readable by group or others)' -r -F
complete -c pop-fetch -l password-env -d 'Take the password from the environment variable VAR' -r -f
complete -c pop-fetch -l password-cmd -d 'Run CMD with sh -c and take the first line it prints as the password (pass, gpg -d, secret-tool lookup, op read...); it fails (77) when CMD fails, prints nothing or takes over 60 s' -r -f -a "(__fish_complete_command)"
complete -c pop-fetch -l netrc-file -d 'Read credentials from this netrc file instead of $NETRC or ~/.netrc, and let its entry for the host name the user too (curl\'s -n)' -r -F
complete -c pop-fetch -l tls -d 'TLS policy: auto upgrades whenever offered, required fails without TLS, none never uses it' -r -f -a "auto\t'Use TLS whenever the server offers it; never send a password in cleartext'
required\t'Fail (exit 69) when the server does not offer TLS'
none\t'Never use TLS (passwords are sent in cleartext)'"
complete -c pop-fetch -l cacert -d 'Also trust the certificates in this PEM file (a private CA, or a self-signed server)' -r -F
complete -c pop-fetch -l pin -d 'Trust exactly the server certificate with this SHA-256 fingerprint (sha256:HEX), or those with this public key (sha256//BASE64 of its SubjectPublicKeyInfo, as curl\'s --pinnedpubkey; several separated by ;), whoever signed it' -r
complete -c pop-fetch -l cert -d 'Present this client certificate (PEM, leaf first), with the private key the file holds unless --key names another; mail tools then log in with SASL EXTERNAL when no password is given' -r -F
complete -c pop-fetch -l key -d 'The private key of --cert (PEM, unencrypted; must not be readable by group or others)' -r -F
complete -c pop-fetch -l tls-server-name -d 'Check the server\'s certificate against NAME (and send NAME as SNI) instead of the host connected to' -r -f -a "(__fish_print_hostnames)"
complete -c pop-fetch -l tls-min -d 'The oldest TLS version to use [default: 1.2]' -r -f -a "1.2\t''
1.3\t''"
complete -c pop-fetch -l tls-max -d 'The newest TLS version to use [default: 1.3]' -r -f -a "1.2\t''
1.3\t''"
complete -c pop-fetch -l timeout -d 'Give up when connecting (TCP, TLS and the greeting together), or any one reply from the server, takes longer than DURATION (90, 500ms, 30s, 2m, 1h; a bare number is seconds) [default: 30s to connect, 2m a reply]' -r -f
complete -c pop-fetch -l retries -d 'Retry transient failures (exit 75 class, broken connections) N times (0 to 100), waiting 1, 2, 4... s (at most 60 s) between tries' -r -f
complete -c pop-fetch -l max-time -d 'Give up the whole run after DURATION, whatever it is waiting for on the network (a connect, a reply, a transfer, a retry) [default: no limit]' -r -f
complete -c pop-fetch -l speed-limit -d 'Give up a transfer (a download, an upload, a listing, a message) that moves less than BYTES per second (512, 2k, 1M) over --speed-time; 0 turns this off [default: 100]' -r -f
complete -c pop-fetch -l speed-time -d 'How long a transfer may stay under --speed-limit before it is given up [default: 30s, or --timeout when that is shorter]' -r -f
complete -c pop-fetch -l proxy -d 'Connect through this proxy: socks5h://HOST:PORT (the proxy resolves names), socks5://HOST:PORT (names resolved here) or http://HOST:PORT (CONNECT), a login as USER:PASSWORD@ before HOST; "" for none, whatever the environment says [default: $SCHEME_proxy, else $ALL_PROXY]' -r -f
complete -c pop-fetch -l noproxy -d 'Connect directly to these hosts: a comma-separated list of names, domains (example.com also covers mail.example.com) and IP addresses (with /BITS); * for every host [default: $NO_PROXY]' -r -f
complete -c pop-fetch -l progress -d 'Progress: auto draws a bar when stderr is a terminal, bar always, lines writes plain lines for a log, none nothing' -r -f -a "auto\t'When stderr is a terminal and --quiet is not given'
bar\t'Always (unless --quiet)'
lines\t'A plain line per file at each tenth of it or every 10 s, and one when it is done: for logs (CI), with no cursor codes (wget\'s --progress=dot)'
none\t'Never'"
complete -c pop-fetch -l generate -d 'Print the man page or a shell completion to standard output, and exit' -r -f -a "man\t'The man page (roff)'
bash\t'Bash completion'
zsh\t'Zsh completion'
fish\t'Fish completion'
elvish\t'Elvish completion'
powershell\t'PowerShell completion'"
complete -c pop-fetch -l stdout -d 'Write the messages to standard output as an mboxrd stream (a look: nothing is recorded as delivered)'
complete -c pop-fetch -l create-dirs -d 'Accepted as before, and no longer needed: every store is made when missing, with the folders above it, as a Maildir always was (one rule for the four)'
complete -c pop-fetch -l keep -d 'Leave the messages on the server (the default)'
complete -c pop-fetch -l delete -d 'Delete each message on the server once its local copy is durable (and those an earlier --delete run stored but could not delete)'
complete -c pop-fetch -l new -d 'Fetch only messages not delivered before, by their UIDL (the default)'
complete -c pop-fetch -l all -d 'Fetch every message, delivered before or not'
complete -c pop-fetch -l all-accounts -d 'Fetch every account of the config file whose server is for this tool, one after the other, each with its own state and lock (one failing does not stop the others; the exit status is the first failure\'s)'
complete -c pop-fetch -l headers-only -d 'Fetch only the headers of each message (TOP n 0), a look: nothing is recorded; refuses --delete'
complete -c pop-fetch -l authorize -d 'Sign in once at a terminal (the OAuth2 device authorization grant: open the URL shown, enter the code), keep the tokens in the account\'s token cache, and exit'
complete -c pop-fetch -l no-netrc -d 'Do not read any netrc file'
complete -c pop-fetch -l insecure -d 'Do not verify the server certificate at all (says so on stderr)'
complete -c pop-fetch -s 4 -l ipv4 -d 'Use IPv4 addresses only'
complete -c pop-fetch -s 6 -l ipv6 -d 'Use IPv6 addresses only'
complete -c pop-fetch -s q -l quiet -d 'Errors only: no progress bar, no notes'
complete -c pop-fetch -s v -l verbose -d 'Show the protocol transcript on stderr (C:/S: lines; passwords are never shown)'
complete -c pop-fetch -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pop-fetch -s V -l version -d 'Print version'
