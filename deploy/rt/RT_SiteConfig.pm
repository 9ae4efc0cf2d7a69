# Request Tracker's site configuration for firstcall's development/test RT, loaded through
# RT_SITE_CONFIG by deploy/rt.sh (Debian's /etc/request-tracker5 is never read: RT_SITE_CONFIG_DIR points
# at var/rt/RT_SiteConfig.d instead, the place for local overrides). RT evaluates this file as Perl in
# package RT; deploy/rt.sh passes the checkout's paths and the port in the environment, so the same file
# serves every checkout. See deploy/rt/README.md. (RT's config files are not under `use strict`: Set()
# names options as bare package variables.)

my $var  = $ENV{FIRSTCALL_RT_VAR}  or die "FIRSTCALL_RT_VAR is not set: run RT through deploy/rt.sh\n";
my $port = $ENV{FIRSTCALL_RT_PORT} or die "FIRSTCALL_RT_PORT is not set: run RT through deploy/rt.sh\n";

# Every file RT writes lives under var/rt (wiped by `deploy/rt.sh reset`), not under /var/lib and
# /var/cache, which Debian creates for www-data: a developer who is not root can run it, and two checkouts
# on one machine do not share compiled templates or sessions.
$RT::VarPath         = "$var";
$RT::MasonDataDir    = "$var/cache/mason_data";
$RT::MasonSessionDir = "$var/cache/session_data";

Set($rtname, 'firstcall');
Set($Organization, 'firstcall.local');
Set($Timezone, 'UTC');
Set($DefaultQueue, 'firstcall');

# RT checks an auth token (and a password) with bcrypt on every REST request. At RT's default cost (12)
# that is ~235 ms of one core per request on a 2-core machine, which would dominate every test and the
# bridge's benchmark; 4 (bcrypt's minimum) takes ~1 ms. A token keeps the cost it was made with, so to
# measure with production's cost put Set($BcryptCost, 12); in var/rt/RT_SiteConfig.d/ and reset.
Set($BcryptCost, 4);

Set($DatabaseType, 'SQLite');
Set($DatabaseName, "$var/db/rt5.sqlite");

Set($WebDomain, '127.0.0.1');
Set($WebPort, $port);
Set($WebPath, '');
Set($WebBaseURL, "http://127.0.0.1:$port");
Set(@ReferrerWhitelist, ("localhost:$port", "127.0.0.1:$port"));

# No mail leaves this RT: correspondence to requestors is written in mbox format under var/rt/ instead of
# being handed to the MTA Debian's package insists on installing.
Set($MailCommand, 'mbox');
Set($CorrespondAddress, 'rt@firstcall.local');
Set($CommentAddress, 'rt-comment@firstcall.local');

# One log, the server's (var/rt/rt-server.log); nothing to syslog.
Set($LogToSyslog, undef);
Set($LogToFile, undef);
Set($LogToSTDERR, 'info');

1;
