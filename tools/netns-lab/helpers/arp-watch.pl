#!/usr/bin/perl
# ARP/ND watcher of the netns lab, run in the external server's namespace (needs perl: Socket and Time::HiRes).
# Every <interval-ms> it broadcasts an ARP request for the EIP ("round" n), and it prints one line
# per ARP packet that claims the EIP and per ICMPv6 neighbour advertisement for the IPv6 EIP:
#   reply <round> <mac>     an answer to our request (every owner answers: two MACs in one round = two owners)
#   garp <round> <mac>      a gratuitous ARP (request or reply with sender = target = EIP)
#   na <round> <mac>        a neighbour advertisement whose target is the IPv6 EIP
# Usage: perl arp-watch.pl <ifname> <own-mac> <own-ipv4> <eip4> <eip6> <interval-ms>
use strict;
use warnings;
use Socket qw(SOCK_RAW inet_aton inet_pton AF_INET6);
use Time::HiRes qw(time);
$| = 1;
my ($ifname, $mymac, $myip, $eip, $eip6, $interval_ms) = @ARGV;
my $AF_PACKET = 17;
my $ETH_P_ALL = 3;
open(my $fh, '<', "/sys/class/net/$ifname/ifindex") or die "no interface $ifname: $!";
my $ifindex = <$fh>;
close($fh);
chomp $ifindex;
socket(my $s, $AF_PACKET, SOCK_RAW, unpack('S', pack('n', $ETH_P_ALL))) or die "packet socket: $!";
bind($s, pack('S n i S C C a8', $AF_PACKET, $ETH_P_ALL, $ifindex, 0, 0, 0, '')) or die "bind: $!";
my $mac_bin = pack('H12', join('', split(/:/, $mymac)));
my $ip_bin = inet_aton($myip);
my $eip_bin = inet_aton($eip);
my $eip6_bin = inet_pton(AF_INET6, $eip6);
my $request = ("\xff" x 6) . $mac_bin . pack('n', 0x0806)
  . pack('n n C C n', 1, 0x0800, 6, 4, 1) . $mac_bin . $ip_bin . ("\0" x 6) . $eip_bin;
$request .= "\0" x (60 - length($request));
my $round = 0;
my $next = 0;
my $period = $interval_ms / 1000;
my $rin = '';
vec($rin, fileno($s), 1) = 1;
print "ready\n";
while (1) {
  my $t = time;
  if ($t >= $next) {
    $round++;
    send($s, $request, 0);
    $next = $t + $period;
  }
  my $wait = $next - time;
  $wait = 0 if $wait < 0;
  my $n = select(my $rout = $rin, undef, undef, $wait);
  next unless $n && $n > 0;
  my $buf;
  recv($s, $buf, 2048, 0);
  next if length($buf) < 42;
  my $src = substr($buf, 6, 6);
  next if $src eq $mac_bin;
  my $type = unpack('n', substr($buf, 12, 2));
  my $srcmac = join(':', unpack('(H2)6', $src));
  if ($type == 0x0806) {
    my $op = unpack('n', substr($buf, 20, 2));
    my $spa = substr($buf, 28, 4);
    my $tpa = substr($buf, 38, 4);
    next unless $spa eq $eip_bin;
    my $sha = join(':', unpack('(H2)6', substr($buf, 22, 6)));
    if ($op == 2 && $tpa eq $ip_bin) { print "reply $round $sha\n"; }
    elsif ($tpa eq $eip_bin) { print "garp $round $sha\n"; }
  } elsif ($type == 0x86dd && length($buf) >= 78) {
    next unless ord(substr($buf, 20, 1)) == 58 && ord(substr($buf, 54, 1)) == 136;
    next unless substr($buf, 62, 16) eq $eip6_bin;
    print "na $round $srcmac\n";
  }
}
