
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'imap-fetch' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'imap-fetch'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'imap-fetch' {
            [CompletionResult]::new('--maildir', '--maildir', [CompletionResultType]::ParameterName, 'Deliver into the Maildir DIR (made when missing, with cur/, new/ and tmp/)')
            [CompletionResult]::new('--mbox', '--mbox', [CompletionResultType]::ParameterName, 'Append to the mbox FILE (mboxrd; locked with fcntl and FILE.lock; made when missing)')
            [CompletionResult]::new('-O', '-O ', [CompletionResultType]::ParameterName, 'Write each message to DIR/NNNN.eml, numbered on from the highest there')
            [CompletionResult]::new('--output-dir', '--output-dir', [CompletionResultType]::ParameterName, 'Write each message to DIR/NNNN.eml, numbered on from the highest there')
            [CompletionResult]::new('--mda', '--mda', [CompletionResultType]::ParameterName, 'Pipe each message to sh -c COMMAND (procmail, maildrop...); delivered only on exit 0')
            [CompletionResult]::new('--folder', '--folder', [CompletionResultType]::ParameterName, 'Fetch from the folder NAME as the server names it, its own hierarchy delimiter included (repeatable; instead of the URL''s path, whose `/` are levels; UTF-8 names are sent in modified UTF-7)')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Fetch only messages that arrived on or after DATE (YYYY-MM-DD; SEARCH SINCE)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Fetch at most N messages per folder this run (the others wait for the next)')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Skip (and report) messages larger than BYTES (a number, or with k, M or G)')
            [CompletionResult]::new('--state-file', '--state-file', [CompletionResultType]::ParameterName, 'Keep what was delivered in FILE (default: $XDG_STATE_HOME/posthaste/imap/USER@HOST, whatever the port)')
            [CompletionResult]::new('--auth', '--auth', [CompletionResultType]::ParameterName, 'Use this SASL mechanism (SCRAM-SHA-256, PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER, EXTERNAL) instead of the best one offered')
            [CompletionResult]::new('--oauth2-token-env', '--oauth2-token-env', [CompletionResultType]::ParameterName, 'Log in with the OAuth2 access token in the environment variable VAR (SASL OAUTHBEARER or XOAUTH2)')
            [CompletionResult]::new('--oauth2-provider', '--oauth2-provider', [CompletionResultType]::ParameterName, 'Log in with OAuth2 through a provider''s endpoints and scopes: microsoft (Microsoft 365, Outlook.com) or google (Gmail); --oauth2-client-id is still needed')
            [CompletionResult]::new('--oauth2-token-endpoint', '--oauth2-token-endpoint', [CompletionResultType]::ParameterName, 'Log in with OAuth2, refreshing tokens at this token endpoint (https://)')
            [CompletionResult]::new('--oauth2-device-authorization-endpoint', '--oauth2-device-authorization-endpoint', [CompletionResultType]::ParameterName, 'The device authorization endpoint, for --authorize (https://)')
            [CompletionResult]::new('--oauth2-client-id', '--oauth2-client-id', [CompletionResultType]::ParameterName, 'The OAuth2 client (application) id registered with the provider')
            [CompletionResult]::new('--oauth2-client-secret-file', '--oauth2-client-secret-file', [CompletionResultType]::ParameterName, 'Read the OAuth2 client secret, if the client has one, from the first line of FILE (chmod 600)')
            [CompletionResult]::new('--oauth2-scope', '--oauth2-scope', [CompletionResultType]::ParameterName, 'The scopes to ask for, separated by spaces (default: the provider''s for the tool)')
            [CompletionResult]::new('--oauth2-refresh-token-file', '--oauth2-refresh-token-file', [CompletionResultType]::ParameterName, 'Start from the refresh token on the first line of FILE (chmod 600) while the token cache holds none')
            [CompletionResult]::new('--import-mbsyncrc', '--import-mbsyncrc', [CompletionResultType]::ParameterName, 'Print mbsync''s config file FILE (~/.mbsyncrc) as accounts of posthaste''s config file on standard output, one per Channel (append them: >> ~/.config/posthaste/config.toml), and exit')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Take what the command line leaves out (the server, the user, the secret, TLS, the tool''s own flags) from account NAME, [accounts.NAME] of the config file [default: its default account]')
            [CompletionResult]::new('--account', '--account', [CompletionResultType]::ParameterName, 'Take what the command line leaves out (the server, the user, the secret, TLS, the tool''s own flags) from account NAME, [accounts.NAME] of the config file [default: its default account]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read the config file FILE [default: $XDG_CONFIG_HOME/posthaste/config.toml]')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Log in as NAME (overrides the URL''s user)')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'Read the password from the first line of FILE (must not be readable by group or others)')
            [CompletionResult]::new('--password-env', '--password-env', [CompletionResultType]::ParameterName, 'Take the password from the environment variable VAR')
            [CompletionResult]::new('--password-cmd', '--password-cmd', [CompletionResultType]::ParameterName, 'Run CMD with sh -c and take the first line it prints as the password (pass, gpg -d, secret-tool lookup, op read...); it fails (77) when CMD fails, prints nothing or takes over 60 s')
            [CompletionResult]::new('--netrc-file', '--netrc-file', [CompletionResultType]::ParameterName, 'Read credentials from this netrc file instead of $NETRC or ~/.netrc, and let its entry for the host name the user too (curl''s -n)')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'TLS policy: auto upgrades whenever offered, required fails without TLS, none never uses it')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the certificates in this PEM file (a private CA, or a self-signed server)')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'Trust exactly the server certificate with this SHA-256 fingerprint (sha256:HEX), or those with this public key (sha256//BASE64 of its SubjectPublicKeyInfo, as curl''s --pinnedpubkey; several separated by ;), whoever signed it')
            [CompletionResult]::new('--cert', '--cert', [CompletionResultType]::ParameterName, 'Present this client certificate (PEM, leaf first), with the private key the file holds unless --key names another; mail tools then log in with SASL EXTERNAL when no password is given')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The private key of --cert (PEM, unencrypted; must not be readable by group or others)')
            [CompletionResult]::new('--tls-server-name', '--tls-server-name', [CompletionResultType]::ParameterName, 'Check the server''s certificate against NAME (and send NAME as SNI) instead of the host connected to')
            [CompletionResult]::new('--tls-min', '--tls-min', [CompletionResultType]::ParameterName, 'The oldest TLS version to use [default: 1.2]')
            [CompletionResult]::new('--tls-max', '--tls-max', [CompletionResultType]::ParameterName, 'The newest TLS version to use [default: 1.3]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up when connecting (TCP, TLS and the greeting together), or any one reply from the server, takes longer than DURATION (90, 500ms, 30s, 2m, 1h; a bare number is seconds) [default: 30s to connect, 2m a reply]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retry transient failures (exit 75 class, broken connections) N times (0 to 100), waiting 1, 2, 4... s (at most 60 s) between tries')
            [CompletionResult]::new('--max-time', '--max-time', [CompletionResultType]::ParameterName, 'Give up the whole run after DURATION, whatever it is waiting for on the network (a connect, a reply, a transfer, a retry) [default: no limit]')
            [CompletionResult]::new('--speed-limit', '--speed-limit', [CompletionResultType]::ParameterName, 'Give up a transfer (a download, an upload, a listing, a message) that moves less than BYTES per second (512, 2k, 1M) over --speed-time; 0 turns this off [default: 100]')
            [CompletionResult]::new('--speed-time', '--speed-time', [CompletionResultType]::ParameterName, 'How long a transfer may stay under --speed-limit before it is given up [default: 30s, or --timeout when that is shorter]')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Connect through this proxy: socks5h://HOST:PORT (the proxy resolves names), socks5://HOST:PORT (names resolved here) or http://HOST:PORT (CONNECT), a login as USER:PASSWORD@ before HOST; "" for none, whatever the environment says [default: $SCHEME_proxy, else $ALL_PROXY]')
            [CompletionResult]::new('--noproxy', '--noproxy', [CompletionResultType]::ParameterName, 'Connect directly to these hosts: a comma-separated list of names, domains (example.com also covers mail.example.com) and IP addresses (with /BITS); * for every host [default: $NO_PROXY]')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress: auto draws a bar when stderr is a terminal, bar always, lines writes plain lines for a log, none nothing')
            [CompletionResult]::new('--generate', '--generate', [CompletionResultType]::ParameterName, 'Print the man page or a shell completion to standard output, and exit')
            [CompletionResult]::new('--stdout', '--stdout', [CompletionResultType]::ParameterName, 'Write the messages to standard output as an mboxrd stream (a look: nothing is recorded as delivered)')
            [CompletionResult]::new('--create-dirs', '--create-dirs', [CompletionResultType]::ParameterName, 'Accepted as before, and no longer needed: every store is made when missing, with the folders above it, as a Maildir always was (one rule for the four)')
            [CompletionResult]::new('--list-folders', '--list-folders', [CompletionResultType]::ParameterName, 'Print the server''s folders, one a line, and exit')
            [CompletionResult]::new('--new', '--new', [CompletionResultType]::ParameterName, 'Fetch only messages above the last UID delivered (the default)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Fetch every message (matching --since and --unseen), delivered before or not')
            [CompletionResult]::new('--all-accounts', '--all-accounts', [CompletionResultType]::ParameterName, 'Fetch every account of the config file whose server is for this tool, one after the other, each with its own state and lock (one failing does not stop the others; the exit status is the first failure''s)')
            [CompletionResult]::new('--unseen', '--unseen', [CompletionResultType]::ParameterName, 'Fetch only messages without the \Seen flag (SEARCH UNSEEN)')
            [CompletionResult]::new('--seen', '--seen', [CompletionResultType]::ParameterName, 'Set \Seen on each message once its local copy is durable (opens the folder read-write)')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Leave the messages on the server (the default)')
            [CompletionResult]::new('--delete', '--delete', [CompletionResultType]::ParameterName, 'Delete each message on the server once its local copy is durable (\Deleted, then UID EXPUNGE of exactly those messages; needs UIDPLUS)')
            [CompletionResult]::new('--reset-state', '--reset-state', [CompletionResultType]::ParameterName, 'Fetch nothing: record each folder as delivered up to its newest message, so that --new fetches only what arrives from now on')
            [CompletionResult]::new('--idle', '--idle', [CompletionResultType]::ParameterName, 'After fetching, wait for new mail with IDLE and fetch it as it arrives, until SIGINT or SIGTERM (then a clean LOGOUT); one folder only')
            [CompletionResult]::new('--authorize', '--authorize', [CompletionResultType]::ParameterName, 'Sign in once at a terminal (the OAuth2 device authorization grant: open the URL shown, enter the code), keep the tokens in the account''s token cache, and exit')
            [CompletionResult]::new('--no-netrc', '--no-netrc', [CompletionResultType]::ParameterName, 'Do not read any netrc file')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server certificate at all (says so on stderr)')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Use IPv4 addresses only')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Use IPv4 addresses only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Use IPv6 addresses only')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Use IPv6 addresses only')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Errors only: no progress bar, no notes')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Errors only: no progress bar, no notes')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show the protocol transcript on stderr (C:/S: lines; passwords are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show the protocol transcript on stderr (C:/S: lines; passwords are never shown)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
