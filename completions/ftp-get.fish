complete -c ftp-get -s o -l output -d 'Write to FILE (one URL only); \'-\' writes to standard output' -r -F
complete -c ftp-get -s O -l output-dir -d 'Write into the folder DIR under the remote names [default: .]' -r -f -a "(__fish_complete_directories)"
complete -c ftp-get -l parallel -d 'Transfer N files at once, over N logged-in connections (plus one that lists the folders, or makes them)' -r
complete -c ftp-get -l limit-rate -d 'Move at most RATE bytes per second over all connections together (500K, 2M, 1G: powers of 1024)' -r
complete -c ftp-get -s a -l account -d 'Take what the command line leaves out (the server, the user, the secret, TLS, the tool\'s own flags) from account NAME, [accounts.NAME] of the config file [default: its default account]' -r -f
complete -c ftp-get -l config -d 'Read the config file FILE [default: $XDG_CONFIG_HOME/posthaste/config.toml]' -r -F
complete -c ftp-get -l user -d 'Log in as NAME (overrides the URL\'s user)' -r -f
complete -c ftp-get -l password-file -d 'Read the password from the first line of FILE (must not be readable by group or others)' -r -F
complete -c ftp-get -l password-env -d 'Take the password from the environment variable VAR' -r -f
complete -c ftp-get -l password-cmd -d 'Run CMD with sh -c and take the first line it prints as the password (pass, gpg -d, secret-tool lookup, op read...); it fails (77) when CMD fails, prints nothing or takes over 60 s' -r -f -a "(__fish_complete_command)"
complete -c ftp-get -l netrc-file -d 'Read credentials from this netrc file instead of $NETRC or ~/.netrc, and let its entry for the host name the user too (curl\'s -n)' -r -F
complete -c ftp-get -l tls -d 'TLS policy: auto upgrades whenever offered, required fails without TLS, none never uses it' -r -f -a "auto\t'Use TLS whenever the server offers it; never send a password in cleartext'
required\t'Fail (exit 69) when the server does not offer TLS'
none\t'Never use TLS (passwords are sent in cleartext)'"
complete -c ftp-get -l cacert -d 'Also trust the certificates in this PEM file (a private CA, or a self-signed server)' -r -F
complete -c ftp-get -l pin -d 'Trust exactly the server certificate with this SHA-256 fingerprint (sha256:HEX), or those with this public key (sha256//BASE64 of its SubjectPublicKeyInfo, as curl\'s --pinnedpubkey; several separated by ;), whoever signed it' -r
complete -c ftp-get -l cert -d 'Present this client certificate (PEM, leaf first), with the private key the file holds unless --key names another; mail tools then log in with SASL EXTERNAL when no password is given' -r -F
complete -c ftp-get -l key -d 'The private key of --cert (PEM, unencrypted; must not be readable by group or others)' -r -F
complete -c ftp-get -l tls-server-name -d 'Check the server\'s certificate against NAME (and send NAME as SNI) instead of the host connected to' -r -f -a "(__fish_print_hostnames)"
complete -c ftp-get -l tls-min -d 'The oldest TLS version to use [default: 1.2]' -r -f -a "1.2\t''
1.3\t''"
complete -c ftp-get -l tls-max -d 'The newest TLS version to use [default: 1.3]' -r -f -a "1.2\t''
1.3\t''"
complete -c ftp-get -l timeout -d 'Give up when connecting (TCP, TLS and the greeting together), or any one reply from the server, takes longer than DURATION (90, 500ms, 30s, 2m, 1h; a bare number is seconds) [default: 30s to connect, 2m a reply]' -r -f
complete -c ftp-get -l retries -d 'Retry transient failures (exit 75 class, broken connections) N times (0 to 100), waiting 1, 2, 4... s (at most 60 s) between tries' -r -f
complete -c ftp-get -l max-time -d 'Give up the whole run after DURATION, whatever it is waiting for on the network (a connect, a reply, a transfer, a retry) [default: no limit]' -r -f
complete -c ftp-get -l speed-limit -d 'Give up a transfer (a download, an upload, a listing, a message) that moves less than BYTES per second (512, 2k, 1M) over --speed-time; 0 turns this off [default: 100]' -r -f
complete -c ftp-get -l speed-time -d 'How long a transfer may stay under --speed-limit before it is given up [default: 30s, or --timeout when that is shorter]' -r -f
complete -c ftp-get -l proxy -d 'Connect through this proxy: socks5h://HOST:PORT (the proxy resolves names), socks5://HOST:PORT (names resolved here) or http://HOST:PORT (CONNECT), a login as USER:PASSWORD@ before HOST; "" for none, whatever the environment says [default: $SCHEME_proxy, else $ALL_PROXY]' -r -f
complete -c ftp-get -l noproxy -d 'Connect directly to these hosts: a comma-separated list of names, domains (example.com also covers mail.example.com) and IP addresses (with /BITS); * for every host [default: $NO_PROXY]' -r -f
complete -c ftp-get -l progress -d 'Progress: auto draws a bar when stderr is a terminal, bar always, lines writes plain lines for a log, none nothing' -r -f -a "auto\t'When stderr is a terminal and --quiet is not given'
bar\t'Always (unless --quiet)'
lines\t'A plain line per file at each tenth of it or every 10 s, and one when it is done: for logs (CI), with no cursor codes (wget\'s --progress=dot)'
none\t'Never'"
complete -c ftp-get -l generate -d 'Print the man page or a shell completion to standard output, and exit' -r -f -a "man\t'The man page (roff)'
bash\t'Bash completion'
zsh\t'Zsh completion'
fish\t'Fish completion'
elvish\t'Elvish completion'
powershell\t'PowerShell completion'"
complete -c ftp-get -l create-dirs -d 'Make the folders that --output-dir or -o name when they are missing'
complete -c ftp-get -l stdout -d 'Write the files\' contents to standard output (same as -o -)'
complete -c ftp-get -s c -l continue -d 'Resume NAME.part (or a shorter existing NAME) where it ends, with REST'
complete -c ftp-get -l no-clobber -d 'Skip files that already exist locally'
complete -c ftp-get -s r -l recursive -d 'Mirror the tree under a URL naming a folder (with or without its /) into the output folder (remote names are checked; links are not followed)'
complete -c ftp-get -l newer -d 'Skip files whose local copy has the remote size and modification time (SIZE, MDTM)'
complete -c ftp-get -l no-mtime -d 'Do not set the local modification time from the server\'s (MDTM)'
complete -c ftp-get -l delete-remote -d 'Delete each remote file once it is completely and durably stored locally'
complete -c ftp-get -l active -d 'Active mode: the server connects to us (EPRT, falling back to PORT)'
complete -c ftp-get -l ascii -d 'ASCII transfers (TYPE A): line endings converted; no size check'
complete -c ftp-get -l no-netrc -d 'Do not read any netrc file'
complete -c ftp-get -l insecure -d 'Do not verify the server certificate at all (says so on stderr)'
complete -c ftp-get -s 4 -l ipv4 -d 'Use IPv4 addresses only'
complete -c ftp-get -s 6 -l ipv6 -d 'Use IPv6 addresses only'
complete -c ftp-get -s q -l quiet -d 'Errors only: no progress bar, no notes'
complete -c ftp-get -s v -l verbose -d 'Show the protocol transcript on stderr (C:/S: lines; passwords are never shown)'
complete -c ftp-get -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ftp-get -s V -l version -d 'Print version'
