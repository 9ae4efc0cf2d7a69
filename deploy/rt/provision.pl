#!/usr/bin/perl
# What firstcall's helpdesk bridge needs in Request Tracker, made with RT's own libraries as RT's system
# user (no password, no web session): run by deploy/rt.sh, which sets RT_SITE_CONFIG and the environment
# deploy/rt/RT_SiteConfig.pm reads. Every step looks before it creates, so running it again changes
# nothing.
#
#   provision.pl provision TOKEN_FILE ROOT_PASSWORD_FILE
#       queues, custom fields, the agents' group and the integration user with their rights; writes a
#       new auth token for the integration user to TOKEN_FILE when TOKEN_FILE is missing or empty, and,
#       while RT's root user still has the password RT ships ("password"), a random one, written to
#       ROOT_PASSWORD_FILE.
#   provision.pl agent NAME EMAIL
#       ensures the privileged user NAME, member of the agents' group; prints a new auth token for it.
use strict;
use warnings;

use RT;
RT::LoadConfig();
RT::Init();

my $QUEUES = [
    [ 'firstcall',           'firstcall tickets (default queue)' ],
    [ 'firstcall-billing',   'firstcall tickets for the billing team' ],
    [ 'firstcall-technical', 'firstcall tickets for the technical team' ],
];

# The bridge finds these by name: renaming one breaks it.
my $CUSTOM_FIELDS = [
    [ 'firstcall ticket',          'Freeform', 'the firstcall ticket id' ],
    [ 'firstcall resolution',      'Select',   'the resolution an agent submits',
      [qw(return refund credit replacement answer)] ],
    [ 'firstcall amount',          'Freeform', 'amount of a refund or credit, e.g. 25.00' ],
    [ 'firstcall currency',        'Freeform', 'ISO 4217 currency of the amount, e.g. EUR' ],
    [ 'firstcall order',           'Freeform', 'the order the resolution is about' ],
    [ 'firstcall reason',          'Freeform', 'why the agent chose this resolution' ],
    [ 'firstcall transfer reason', 'Select',   'why the ticket changes owner',
      [qw(missing_skill missing_authority wrong_intent customer_request other)] ],
    [ 'firstcall problem',         'Freeform', 'the problem (many customers, one cause) this ticket belongs to' ],
    [ 'firstcall known issue',     'Freeform', 'the known issue and its fix status' ],
];

# Feedback clusters, decided by their owners (docs/decisions/0041-feedback-decided-in-rt.md): a queue of
# their own, so that the resolution fields of customers' tickets do not crowd the decision form.
my $FEEDBACK_QUEUES = [ [ 'firstcall-feedback', 'customer feedback for its owners to decide' ] ];
my $FEEDBACK_FIELDS = [
    [ 'firstcall feedback',        'Freeform', 'the firstcall feedback cluster id' ],
    [ 'firstcall feedback owner',  'Freeform', 'the team that owns the feedback' ],
    [ 'firstcall customers',       'Freeform', 'how many customers gave the feedback' ],
    [ 'firstcall decision',        'Select',   'the owner decides', [qw(accepted already_done declined)] ],
    [ 'firstcall change',          'Freeform', 'what changes (to accept)' ],
    [ 'firstcall change due',      'Freeform', 'when it changes, in words' ],
];

my $AGENTS_GROUP = 'firstcall agents';
my $BRIDGE_USER  = 'firstcall-bridge';

# On each firstcall queue. Owning needs OwnTicket on the owner's side; giving a ticket to someone else
# needs ModifyTicket (or ReassignTicket) on the giver's side.
my @AGENT_RIGHTS = qw(
    SeeQueue ShowTicket ShowTicketComments Watch WatchAsAdminCc
    OwnTicket TakeTicket StealTicket ReassignTicket ModifyTicket
    ReplyToTicket CommentOnTicket
    SeeCustomField ModifyCustomField SetInitialCustomField
);
my @BRIDGE_QUEUE_RIGHTS = ( @AGENT_RIGHTS, qw(CreateTicket ModifyQueueWatchers) );
# Globally: creating agents and requestors through REST, reading them and their groups.
my @BRIDGE_GLOBAL_RIGHTS = qw(AdminUsers ShowUserHistory SeeGroup ModifySelf);

sub fail { die "provision.pl: @_\n" }

sub ok_or_fail {
    my ( $what, $ok, $msg ) = @_;
    fail("$what: " . ( $msg // 'failed' )) unless $ok;
    return $ok;
}

sub ensure_queue {
    my ( $name, $description ) = @_;
    my $queue = RT::Queue->new( RT->SystemUser );
    $queue->Load($name);
    return $queue if $queue->id;
    ok_or_fail( "queue $name", $queue->Create( Name => $name, Description => $description ) );
    return $queue;
}

sub ensure_custom_field {
    my ( $name, $type, $description, $values, $queues ) = @_;
    my $fields = RT::CustomFields->new( RT->SystemUser );
    $fields->Limit( FIELD => 'Name', VALUE => $name, CASESENSITIVE => 0 );
    $fields->Limit( FIELD => 'LookupType', VALUE => RT::Ticket->CustomFieldLookupType );
    $fields->FindAllRows;
    my $cf = $fields->First;
    unless ($cf) {
        $cf = RT::CustomField->new( RT->SystemUser );
        ok_or_fail(
            "custom field '$name'",
            $cf->Create(
                Name        => $name,
                Type        => $type,
                MaxValues   => 1,
                Description => $description,
                LookupType  => RT::Ticket->CustomFieldLookupType,
            )
        );
    }
    ok_or_fail( "enabling custom field '$name'", $cf->SetDisabled(0) ) if $cf->Disabled;
    my %have = map { $_->Name => 1 } @{ $cf->Values->ItemsArrayRef };
    my $order = 0;
    for my $value ( @{ $values || [] } ) {
        $order++;
        next if $have{$value};
        ok_or_fail( "value '$value' of '$name'", $cf->AddValue( Name => $value, SortOrder => $order ) );
    }
    for my $queue (@$queues) {
        next if $cf->IsAdded( $queue->id );
        ok_or_fail( "applying '$name' to " . $queue->Name, $cf->AddToObject($queue) );
    }
    return $cf;
}

sub ensure_group {
    my ($name) = @_;
    my $group = RT::Group->new( RT->SystemUser );
    $group->LoadUserDefinedGroup($name);
    return $group if $group->id;
    ok_or_fail( "group $name",
        $group->CreateUserDefinedGroup( Name => $name, Description => 'agents answering firstcall tickets' ) );
    return $group;
}

sub ensure_user {
    my ( $name, $email, $real_name ) = @_;
    my $user = RT::User->new( RT->SystemUser );
    $user->Load($name);
    unless ( $user->id ) {
        ok_or_fail(
            "user $name",
            $user->Create(
                Name         => $name,
                EmailAddress => $email,
                RealName     => $real_name,
                Privileged   => 1,
            )
        );
    }
    ok_or_fail( "making $name privileged", $user->SetPrivileged(1) ) unless $user->Privileged;
    ok_or_fail( "enabling $name", $user->SetDisabled(0) ) if $user->Disabled;
    return $user;
}

# Grants what is not already granted to this very principal on this very object (an ACE row of its
# own; HasRight would also count rights inherited from elsewhere, e.g. a SuperUser).
sub ensure_rights {
    my ( $principal, $object, @rights ) = @_;
    for my $right (@rights) {
        my $ace = RT::ACE->new( RT->SystemUser );
        $ace->LoadByValues(
            RightName     => $right,
            PrincipalId   => $principal->id,
            PrincipalType => $principal->PrincipalType,
            Object        => $object,
        );
        next if $ace->id;
        ok_or_fail( "granting $right", $principal->GrantRight( Right => $right, Object => $object ) );
    }
}

sub ensure_member {
    my ( $group, $user ) = @_;
    return if $group->HasMember( $user->PrincipalObj );
    ok_or_fail( "adding " . $user->Name . " to " . $group->Name, $group->AddMember( $user->id ) );
}

sub new_token {
    my ( $user, $description ) = @_;
    my $token = RT::AuthToken->new( RT->SystemUser );
    my ( $id, $msg, $authstring ) = $token->Create( Owner => $user->id, Description => $description );
    ok_or_fail( "auth token for " . $user->Name, $id, $msg );
    return $authstring;
}

sub write_private {
    my ( $path, $content ) = @_;
    my $tmp = "$path.tmp";
    umask 077;
    open my $fh, '>', $tmp or fail("cannot write $tmp: $!");
    print {$fh} "$content\n" or fail("cannot write $tmp: $!");
    close $fh or fail("cannot write $tmp: $!");
    chmod 0600, $tmp;
    rename $tmp, $path or fail("cannot rename $tmp to $path: $!");
}

sub random_password {
    open my $fh, '<:raw', '/dev/urandom' or fail("no /dev/urandom: $!");
    read( $fh, my $bytes, 18 ) == 18 or fail('short read from /dev/urandom');
    return unpack( 'H*', $bytes );
}

sub provision {
    my ( $token_file, $root_password_file ) = @_;
    fail('usage: provision.pl provision TOKEN_FILE ROOT_PASSWORD_FILE') unless $root_password_file;
    my @queues = map { ensure_queue(@$_) } @$QUEUES;
    my @fields = map { ensure_custom_field( @$_[ 0 .. 3 ], \@queues ) } @$CUSTOM_FIELDS;
    my @feedback_queues = map { ensure_queue(@$_) } @$FEEDBACK_QUEUES;
    push @fields, map { ensure_custom_field( @$_[ 0 .. 3 ], \@feedback_queues ) } @$FEEDBACK_FIELDS;
    # The reason is the same field on both: why a resolution, why a decision.
    ensure_custom_field( 'firstcall reason', 'Freeform', 'why', undef, \@feedback_queues );
    push @queues, @feedback_queues;

    my $agents = ensure_group($AGENTS_GROUP);
    ensure_rights( $agents->PrincipalObj, $_, @AGENT_RIGHTS ) for @queues;

    my $bridge = ensure_user( $BRIDGE_USER, 'firstcall-bridge@firstcall.local', 'firstcall helpdesk bridge' );
    ensure_rights( $bridge->PrincipalObj, $_, @BRIDGE_QUEUE_RIGHTS ) for @queues;
    ensure_rights( $bridge->PrincipalObj, RT->System, @BRIDGE_GLOBAL_RIGHTS );
    # AdminUsers creates a user but does not put it in a group: that is the group's own right.
    ensure_rights( $bridge->PrincipalObj, $agents, qw(AdminGroupMembership SeeGroup) );
    # GET /customfield/:id (the field's definition, a Select's values) asks for SeeCustomField on the
    # field itself: granted on a queue, it only shows the values on that queue's tickets.
    ensure_rights( $bridge->PrincipalObj, $_, 'SeeCustomField' ) for @fields;

    unless ( -s $token_file ) {
        write_private( $token_file, new_token( $bridge, 'firstcall helpdesk bridge (deploy/rt.sh)' ) );
    }
    # Only RT's shipped default is replaced: on an RT whose root password someone chose, nothing changes.
    my $root = RT::User->new( RT->SystemUser );
    $root->Load('root');
    if ( $root->id && !-s $root_password_file && $root->IsPassword('password') ) {
        my $password = random_password();
        ok_or_fail( 'root password', $root->SetPassword($password) );
        write_private( $root_password_file, $password );
    }
}

sub agent {
    my ( $name, $email ) = @_;
    fail('usage: provision.pl agent NAME EMAIL') unless $email;
    my $user = ensure_user( $name, $email, $name );
    ensure_member( ensure_group($AGENTS_GROUP), $user );
    print new_token( $user, 'firstcall agent (deploy/rt.sh agent)' ), "\n";
}

my $command = shift @ARGV // '';
if    ( $command eq 'provision' ) { provision(@ARGV) }
elsif ( $command eq 'agent' )     { agent(@ARGV) }
else                              { fail("unknown command '$command' (provision | agent)") }
