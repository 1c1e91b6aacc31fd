
use builtin;
use str;

set edit:completion:arg-completer[pop-fetch] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'pop-fetch'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'pop-fetch'= {
            cand --maildir 'Deliver into the Maildir DIR (made when missing, with cur/, new/ and tmp/)'
            cand --mbox 'Append to the mbox FILE (mboxrd; locked with fcntl and FILE.lock; made when missing)'
            cand -O 'Write each message to DIR/NNNN.eml, numbered on from the highest there'
            cand --output-dir 'Write each message to DIR/NNNN.eml, numbered on from the highest there'
            cand --mda 'Pipe each message to sh -c COMMAND (procmail, maildrop...); delivered only on exit 0'
            cand --state-file 'Keep the UIDLs of delivered messages in FILE (default: $XDG_STATE_HOME/posthaste/pop/USER@HOST, whatever the port)'
            cand --max-size 'Skip (and report) messages larger than BYTES (a number, or with k, M or G)'
            cand --limit 'Fetch at most N messages this run (the others wait for the next)'
            cand --auth 'How to log in: auto (the best the server offers), user (USER/PASS), apop, or a SASL mechanism: scram-sha-256, plain, login, cram-md5, xoauth2, oauthbearer, external (the --cert client certificate)'
            cand --oauth2-token-env 'Log in with the OAuth2 access token in the environment variable VAR (SASL OAUTHBEARER or XOAUTH2)'
            cand --oauth2-provider 'Log in with OAuth2 through a provider''s endpoints and scopes: microsoft (Microsoft 365, Outlook.com) or google (Gmail); --oauth2-client-id is still needed'
            cand --oauth2-token-endpoint 'Log in with OAuth2, refreshing tokens at this token endpoint (https://)'
            cand --oauth2-device-authorization-endpoint 'The device authorization endpoint, for --authorize (https://)'
            cand --oauth2-client-id 'The OAuth2 client (application) id registered with the provider'
            cand --oauth2-client-secret-file 'Read the OAuth2 client secret, if the client has one, from the first line of FILE (chmod 600)'
            cand --oauth2-scope 'The scopes to ask for, separated by spaces (default: the provider''s for the tool)'
            cand --oauth2-refresh-token-file 'Start from the refresh token on the first line of FILE (chmod 600) while the token cache holds none'
            cand --import-mpoprc 'Print mpop''s config file FILE (~/.mpoprc) as accounts of posthaste''s config file on standard output (append them: >> ~/.config/posthaste/config.toml), and exit'
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
            cand --stdout 'Write the messages to standard output as an mboxrd stream (a look: nothing is recorded as delivered)'
            cand --create-dirs 'Accepted as before, and no longer needed: every store is made when missing, with the folders above it, as a Maildir always was (one rule for the four)'
            cand --keep 'Leave the messages on the server (the default)'
            cand --delete 'Delete each message on the server once its local copy is durable (and those an earlier --delete run stored but could not delete)'
            cand --new 'Fetch only messages not delivered before, by their UIDL (the default)'
            cand --all 'Fetch every message, delivered before or not'
            cand --all-accounts 'Fetch every account of the config file whose server is for this tool, one after the other, each with its own state and lock (one failing does not stop the others; the exit status is the first failure''s)'
            cand --headers-only 'Fetch only the headers of each message (TOP n 0), a look: nothing is recorded; refuses --delete'
            cand --authorize 'Sign in once at a terminal (the OAuth2 device authorization grant: open the URL shown, enter the code), keep the tokens in the account''s token cache, and exit'
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
