
use builtin;
use str;

set edit:completion:arg-completer[smtp-send] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'smtp-send'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'smtp-send'= {
            cand --server 'The server: smtp://HOST (STARTTLS; smtp://HOST:587 for submission) or smtps://HOST (port 465); a bare HOST or HOST:PORT is smtp://'
            cand -f 'Envelope sender, and the From header when the message has none (''<>'' or '''': the null sender of bounces and vacation replies) [default: the From header''s address]'
            cand -r 'Envelope sender, and the From header when the message has none (''<>'' or '''': the null sender of bounces and vacation replies) [default: the From header''s address]'
            cand --from 'Envelope sender, and the From header when the message has none (''<>'' or '''': the null sender of bounces and vacation replies) [default: the From header''s address]'
            cand -F 'The display name for the From header that --from adds'
            cand --full-name 'The display name for the From header that --from adds'
            cand --file 'Read the message from FILE instead of standard input; repeat to send several over one connection'
            cand --helo 'The name to give in EHLO [default: the local host name]'
            cand --subject 'Make the message from plain text on standard input (or --file), with this Subject (RFC 2047-encoded when not ASCII), From, To (--to), Date, Message-ID and a text/plain UTF-8 body'
            cand --to 'With --subject: a recipient, in To (repeat, or separate with commas)'
            cand -N 'Ask for delivery status notifications (DSN, when the server offers it): NEVER, or SUCCESS, FAILURE and DELAY separated by commas (sendmail''s -N)'
            cand --notify 'Ask for delivery status notifications (DSN, when the server offers it): NEVER, or SUCCESS, FAILURE and DELAY separated by commas (sendmail''s -N)'
            cand -R 'What a DSN returns of the message: FULL or HDRS (sendmail''s -R)'
            cand --ret 'What a DSN returns of the message: FULL or HDRS (sendmail''s -R)'
            cand --envid 'An envelope identifier for DSNs (printable ASCII)'
            cand --log 'Append one line per message to FILE: time, server, sender, recipients, size, the final reply and the exit status'
            cand --aliases 'Replace each recipient without @ (cron''s root) by its addresses in FILE, msmtp''s aliases file: lines NAME: ADDRESS, ADDRESS..., # comments, default: for every name not listed; one level, and headers are left as they are'
            cand --maildomain 'Complete a recipient still without @ after --aliases, and a sender without @, as NAME@DOMAIN; with no -f and no From header the sender is LOGIN@DOMAIN (msmtp''s auto_from)'
            cand -o 'sendmail''s options: -oi (as -i), -oem, -oep, -oeq, -oew (errors are always reported on stderr with the exit status)'
            cand -B 'sendmail''s body type: 7BIT or 8BITMIME (8BITMIME is declared whenever the server offers it)'
            cand -b 'sendmail''s mode: only -bm (deliver a message) is supported'
            cand --auth 'Log in with this SASL mechanism (SCRAM-SHA-256, PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER, EXTERNAL) [default: the best the server offers]'
            cand --oauth2-token-env 'Log in with the OAuth2 access token in the environment variable VAR (OAUTHBEARER or XOAUTH2; needs --user)'
            cand --oauth2-provider 'Log in with OAuth2 through a provider''s endpoints and scopes: microsoft (Microsoft 365, Outlook.com) or google (Gmail); --oauth2-client-id is still needed'
            cand --oauth2-token-endpoint 'Log in with OAuth2, refreshing tokens at this token endpoint (https://)'
            cand --oauth2-device-authorization-endpoint 'The device authorization endpoint, for --authorize (https://)'
            cand --oauth2-client-id 'The OAuth2 client (application) id registered with the provider'
            cand --oauth2-client-secret-file 'Read the OAuth2 client secret, if the client has one, from the first line of FILE (chmod 600)'
            cand --oauth2-scope 'The scopes to ask for, separated by spaces (default: the provider''s for the tool)'
            cand --oauth2-refresh-token-file 'Start from the refresh token on the first line of FILE (chmod 600) while the token cache holds none'
            cand --import-msmtprc 'Print msmtp''s config file FILE (~/.msmtprc) as accounts of posthaste''s config file on standard output (append them: >> ~/.config/posthaste/config.toml), and exit'
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
            cand --generate 'Print the man page or a shell completion to standard output, and exit'
            cand -t 'Also send to the addresses in To, Cc and Bcc (Resent-To, -Cc, -Bcc when present)'
            cand --quoted-printable 'With --subject: send the text quoted-printable (mime-pack''s encoding), so that lines longer than SMTP''s 998 octets, lone CRs and NULs arrive as they are [default: when the text holds one, as mime-pack chooses]'
            cand --syslog 'Log that line to syslog (facility mail) too'
            cand --allow-bare-cr 'Send a lone CR (one not followed by LF) as it is instead of refusing the message'
            cand --no-chunking 'Send the message with DATA even when the server offers CHUNKING (BDAT)'
            cand --partial 'When some recipients are refused, send to the others (and exit 67, or 79 when they were refused only for now; stderr says who got it)'
            cand -i 'sendmail''s -i: a line with a single dot does not end the message (it never does here)'
            cand --authorize 'Sign in once at a terminal (the OAuth2 device authorization grant: open the URL shown, enter the code), keep the tokens in the account''s token cache, and exit'
            cand --no-netrc 'Do not read any netrc file'
            cand --insecure 'Do not verify the server certificate at all (says so on stderr)'
            cand -4 'Use IPv4 addresses only'
            cand --ipv4 'Use IPv4 addresses only'
            cand -6 'Use IPv6 addresses only'
            cand --ipv6 'Use IPv6 addresses only'
            cand -q 'Errors only: no notes, no list of the recipients accepted'
            cand --quiet 'Errors only: no notes, no list of the recipients accepted'
            cand -v 'Show the SMTP transcript on stderr (C:/S: lines), and each recipient accepted'
            cand --verbose 'Show the SMTP transcript on stderr (C:/S: lines), and each recipient accepted'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
