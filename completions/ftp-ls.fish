complete -c ftp-ls -s a -l account -d 'Take what the command line leaves out (the server, the user, the secret, TLS, the tool\'s own flags) from account NAME, [accounts.NAME] of the config file [default: its default account]' -r -f
complete -c ftp-ls -l config -d 'Read the config file FILE [default: $XDG_CONFIG_HOME/posthaste/config.toml]' -r -F
complete -c ftp-ls -l user -d 'Log in as NAME (overrides the URL\'s user)' -r -f
complete -c ftp-ls -l password-file -d 'Read the password from the first line of FILE (must not be readable by group or others)' -r -F
complete -c ftp-ls -l password-env -d 'Take the password from the environment variable VAR' -r -f
complete -c ftp-ls -l password-cmd -d 'Run CMD with sh -c and take the first line it prints as the password (pass, gpg -d, secret-tool lookup, op read...); it fails (77) when CMD fails, prints nothing or takes over 60 s' -r -f -a "(__fish_complete_command)"
complete -c ftp-ls -l netrc-file -d 'Read credentials from this netrc file instead of $NETRC or ~/.netrc, and let its entry for the host name the user too (curl\'s -n)' -r -F
complete -c ftp-ls -l tls -d 'TLS policy: auto upgrades whenever offered, required fails without TLS, none never uses it' -r -f -a "auto\t'Use TLS whenever the server offers it; never send a password in cleartext'
required\t'Fail (exit 69) when the server does not offer TLS'
none\t'Never use TLS (passwords are sent in cleartext)'"
complete -c ftp-ls -l cacert -d 'Also trust the certificates in this PEM file (a private CA, or a self-signed server)' -r -F
complete -c ftp-ls -l pin -d 'Trust exactly the server certificate with this SHA-256 fingerprint (sha256:HEX), or those with this public key (sha256//BASE64 of its SubjectPublicKeyInfo, as curl\'s --pinnedpubkey; several separated by ;), whoever signed it' -r
complete -c ftp-ls -l cert -d 'Present this client certificate (PEM, leaf first), with the private key the file holds unless --key names another; mail tools then log in with SASL EXTERNAL when no password is given' -r -F
complete -c ftp-ls -l key -d 'The private key of --cert (PEM, unencrypted; must not be readable by group or others)' -r -F
complete -c ftp-ls -l tls-server-name -d 'Check the server\'s certificate against NAME (and send NAME as SNI) instead of the host connected to' -r -f -a "(__fish_print_hostnames)"
complete -c ftp-ls -l tls-min -d 'The oldest TLS version to use [default: 1.2]' -r -f -a "1.2\t''
1.3\t''"
complete -c ftp-ls -l tls-max -d 'The newest TLS version to use [default: 1.3]' -r -f -a "1.2\t''
1.3\t''"
complete -c ftp-ls -l timeout -d 'Give up when connecting (TCP, TLS and the greeting together), or any one reply from the server, takes longer than DURATION (90, 500ms, 30s, 2m, 1h; a bare number is seconds) [default: 30s to connect, 2m a reply]' -r -f
complete -c ftp-ls -l retries -d 'Retry transient failures (exit 75 class, broken connections) N times (0 to 100), waiting 1, 2, 4... s (at most 60 s) between tries' -r -f
complete -c ftp-ls -l max-time -d 'Give up the whole run after DURATION, whatever it is waiting for on the network (a connect, a reply, a transfer, a retry) [default: no limit]' -r -f
complete -c ftp-ls -l speed-limit -d 'Give up a transfer (a download, an upload, a listing, a message) that moves less than BYTES per second (512, 2k, 1M) over --speed-time; 0 turns this off [default: 100]' -r -f
complete -c ftp-ls -l speed-time -d 'How long a transfer may stay under --speed-limit before it is given up [default: 30s, or --timeout when that is shorter]' -r -f
complete -c ftp-ls -l proxy -d 'Connect through this proxy: socks5h://HOST:PORT (the proxy resolves names), socks5://HOST:PORT (names resolved here) or http://HOST:PORT (CONNECT), a login as USER:PASSWORD@ before HOST; "" for none, whatever the environment says [default: $SCHEME_proxy, else $ALL_PROXY]' -r -f
complete -c ftp-ls -l noproxy -d 'Connect directly to these hosts: a comma-separated list of names, domains (example.com also covers mail.example.com) and IP addresses (with /BITS); * for every host [default: $NO_PROXY]' -r -f
complete -c ftp-ls -l progress -d 'Progress: auto draws a bar when stderr is a terminal, bar always, lines writes plain lines for a log, none nothing' -r -f -a "auto\t'When stderr is a terminal and --quiet is not given'
bar\t'Always (unless --quiet)'
lines\t'A plain line per file at each tenth of it or every 10 s, and one when it is done: for logs (CI), with no cursor codes (wget\'s --progress=dot)'
none\t'Never'"
complete -c ftp-ls -l generate -d 'Print the man page or a shell completion to standard output, and exit' -r -f -a "man\t'The man page (roff)'
bash\t'Bash completion'
zsh\t'Zsh completion'
fish\t'Fish completion'
elvish\t'Elvish completion'
powershell\t'PowerShell completion'"
complete -c ftp-ls -s l -l long -d 'Long format: type, size, modification time (UTC) and name'
complete -c ftp-ls -s h -l human-readable -d 'With -l: sizes in KiB, MiB, GiB (as ls -lh); without -l it changes nothing, as in ls'
complete -c ftp-ls -l json -d 'One JSON object per line: name, path, type, size, modified, target'
complete -c ftp-ls -l raw -d 'The server\'s LIST output, untouched (control characters made visible at a terminal)'
complete -c ftp-ls -s R -l recursive -d 'Enter every folder, depth first (never through a link; 64 levels, 4 MiB of names waiting at most)'
complete -c ftp-ls -l active -d 'Active mode: the server connects to us (EPRT, falling back to PORT)'
complete -c ftp-ls -l no-netrc -d 'Do not read any netrc file'
complete -c ftp-ls -l insecure -d 'Do not verify the server certificate at all (says so on stderr)'
complete -c ftp-ls -s 4 -l ipv4 -d 'Use IPv4 addresses only'
complete -c ftp-ls -s 6 -l ipv6 -d 'Use IPv6 addresses only'
complete -c ftp-ls -s q -l quiet -d 'Errors only: no progress bar, no notes'
complete -c ftp-ls -s v -l verbose -d 'Show the protocol transcript on stderr (C:/S: lines; passwords are never shown)'
complete -c ftp-ls -l help -d 'Print help (-h is --human-readable, as in ls)'
complete -c ftp-ls -s V -l version -d 'Print version'
