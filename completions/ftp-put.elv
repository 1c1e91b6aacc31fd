
use builtin;
use str;

set edit:completion:arg-completer[ftp-put] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'ftp-put'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'ftp-put'= {
            cand --chmod 'Set the remote file''s mode (SITE CHMOD MODE, e.g. 644); a warning where unsupported'
            cand --parallel 'Transfer N files at once, over N logged-in connections (plus one that lists the folders, or makes them)'
            cand --limit-rate 'Move at most RATE bytes per second over all connections together (500K, 2M, 1G: powers of 1024)'
            cand -a 'Take what the command line leaves out (the server, the user, the secret, TLS, the tool''s own flags) from account NAME, [accounts.NAME] of the config file [default: its default account]'
            cand --account 'Take what the command line leaves out (the server, the user, the secret, TLS, the tool''s own flags) from account NAME, [accounts.NAME] of the config file [default: its default account]'
            cand --config 'Read the config file FILE [default: $XDG_CONFIG_HOME/posthaste/config.toml]'
            cand --user 'Log in as NAME (overrides the URL''s user)'
            cand --password-file 'Read the password from the first line of FILE (must not be readable by group or others)'
            cand --password-env 'Take the password from the environment variable VAR'
            cand --password-cmd 'Run CMD with sh -c and take the first line it prints as the password (pass, gpg -d, secret-tool lookup, op read...); it fails (77) when CMD fails, prints nothing or takes over 60 s'
            cand --netrc-file 'Read credentials from this netrc file instead of $NETRC or ~/.netrc, and let its entry for the host name the user too (curl''s -n)'
            cand --tls 'TLS policy: auto upgrades whenever offered, required fails without TLS, none never uses it'
            cand --cacert 'Also trust the certificates in this PEM file (a private CA, or a self-signed server)'
            cand --pin 'Trust exactly the server certificate with this SHA-256 fingerprint (sha256:HEX), or those with this public key (sha256//BASE64 of its SubjectPublicKeyInfo, as curl''s --pinnedpubkey; several separated by ;), whoever signed it'
            cand --cert 'Present this client certificate (PEM, leaf first), with the private key the file holds unless --key names another; mail tools then log in with SASL EXTERNAL when no password is given'
            cand --key 'The private key of --cert (PEM, unencrypted; must not be readable by group or others)'
            cand --tls-server-name 'Check the server''s certificate against NAME (and send NAME as SNI) instead of the host connected to'
            cand --tls-min 'The oldest TLS version to use [default: 1.2]'
            cand --tls-max 'The newest TLS version to use [default: 1.3]'
            cand --timeout 'Give up when connecting (TCP, TLS and the greeting together), or any one reply from the server, takes longer than DURATION (90, 500ms, 30s, 2m, 1h; a bare number is seconds) [default: 30s to connect, 2m a reply]'
            cand --retries 'Retry transient failures (exit 75 class, broken connections) N times (0 to 100), waiting 1, 2, 4... s (at most 60 s) between tries'
            cand --max-time 'Give up the whole run after DURATION, whatever it is waiting for on the network (a connect, a reply, a transfer, a retry) [default: no limit]'
            cand --speed-limit 'Give up a transfer (a download, an upload, a listing, a message) that moves less than BYTES per second (512, 2k, 1M) over --speed-time; 0 turns this off [default: 100]'
            cand --speed-time 'How long a transfer may stay under --speed-limit before it is given up [default: 30s, or --timeout when that is shorter]'
            cand --proxy 'Connect through this proxy: socks5h://HOST:PORT (the proxy resolves names), socks5://HOST:PORT (names resolved here) or http://HOST:PORT (CONNECT), a login as USER:PASSWORD@ before HOST; "" for none, whatever the environment says [default: $SCHEME_proxy, else $ALL_PROXY]'
            cand --noproxy 'Connect directly to these hosts: a comma-separated list of names, domains (example.com also covers mail.example.com) and IP addresses (with /BITS); * for every host [default: $NO_PROXY]'
            cand --progress 'Progress: auto draws a bar when stderr is a terminal, bar always, lines writes plain lines for a log, none nothing'
            cand --generate 'Print the man page or a shell completion to standard output, and exit'
            cand --atomic 'Upload to .NAME.TAG.part in the same folder, then rename it onto NAME (RNFR/RNTO)'
            cand --create-dirs 'Make the missing folders of the remote path (MKD)'
            cand -c 'Resume an interrupted upload where the remote file ends (SIZE, then REST+STOR or APPE)'
            cand --continue 'Resume an interrupted upload where the remote file ends (SIZE, then REST+STOR or APPE)'
            cand --append 'Append to the remote file (APPE) instead of replacing it'
            cand --remove-source-files 'Delete each local file once the server confirmed it and its size matches'
            cand -r 'Upload folders with everything in them (symbolic links are skipped)'
            cand --recursive 'Upload folders with everything in them (symbolic links are skipped)'
            cand --follow 'With -r: follow symbolic links (a folder is still never uploaded twice)'
            cand --no-mtime 'Do not give the remote files the local modification times (MFMT, MDTM)'
            cand --active 'Active mode: the server connects to us (EPRT, falling back to PORT)'
            cand --ascii 'ASCII transfers (TYPE A): line endings converted; no size check'
            cand --no-netrc 'Do not read any netrc file'
            cand --insecure 'Do not verify the server certificate at all (says so on stderr)'
            cand -4 'Use IPv4 addresses only'
            cand --ipv4 'Use IPv4 addresses only'
            cand -6 'Use IPv6 addresses only'
            cand --ipv6 'Use IPv6 addresses only'
            cand -q 'Errors only: no progress bar, no notes'
            cand --quiet 'Errors only: no progress bar, no notes'
            cand -v 'Show the protocol transcript on stderr (C:/S: lines; passwords are never shown)'
            cand --verbose 'Show the protocol transcript on stderr (C:/S: lines; passwords are never shown)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
