/** The console's frame: sign-in, the navigation, and the page the path names. */
import { useEffect, useState } from 'react';
import { getMe, token, type Me } from './api';
import { Link, useLocation } from './router';
import { SignIn } from './pages/SignIn';
import { Start } from './pages/Start';
import { Targets } from './pages/Targets';
import { Upgrade } from './pages/Upgrade';
import { Upgrades } from './pages/Upgrades';

export function App() {
  const [me, setMe] = useState<Me | null>();
  const { path, query } = useLocation();
  useEffect(() => {
    if (!token.get()) return setMe(null);
    getMe().then(setMe, () => (token.clear(), setMe(null)));
  }, []);
  if (me === undefined) return null;
  if (me === null) return <SignIn onSignedIn={setMe} />;
  const upgrade = /^\/upgrades\/([^/]+)$/.exec(path)?.[1];
  return (
    <>
      <nav>
        <b>cutover</b>
        <Link to="/">Targets</Link>
        <Link to="/upgrades">Upgrades</Link>
        {me.roles.includes('operator') ? <Link to="/start">Start an upgrade</Link> : null}
        <span className="me" data-testid="me">
          {me.principal} ({me.roles.join(', ')})
        </span>
        <button onClick={() => (token.clear(), setMe(null))}>Sign out</button>
      </nav>
      <main>
        {upgrade ? (
          <Upgrade id={decodeURIComponent(upgrade)} me={me} action={query.get('action') ?? undefined} />
        ) : path.startsWith('/upgrades') ? (
          <Upgrades status={query.get('status') ?? ''} />
        ) : path === '/start' ? (
          <Start />
        ) : (
          <Targets />
        )}
      </main>
    </>
  );
}
