// The CARM Onboarding Assistant help widget: gets a chat token from the bot, then runs Microsoft's
// Web Chat against the bot's own Direct Line endpoint (or Azure's, in production).
(function () {
  'use strict';

  var TEXT = {
    en: {
      title: 'CARM Onboarding Assistant',
      tagline: "Answers about CBSA's CARM Client Portal, and your registration checklist step by step.",
      skip: 'Skip to the chat',
      languageLabel: 'Language',
      chatHeading: 'Conversation with the assistant',
      connecting: 'Connecting to the assistant…',
      failed: 'The assistant could not be reached. Check your connection and try again.',
      busy: 'Too many chats were started from this network. Please wait a minute and try again.',
      retry: 'Try again',
      privacy:
        'Never share passwords, sign-in details or security answers. Answers cite the official CBSA source; for help with your own file, call CARM Client Support at 1-800-461-9999.',
      placeholder: 'Ask a question about CARM, or type “start”'
    },
    fr: {
      title: "Assistant d'inscription à la GCRA",
      tagline: "Des réponses sur le portail client de la GCRA de l'ASFC, et votre liste d'inscription étape par étape.",
      skip: 'Aller à la conversation',
      languageLabel: 'Langue',
      chatHeading: "Conversation avec l'assistant",
      connecting: "Connexion à l'assistant…",
      failed: "Impossible de joindre l'assistant. Vérifiez votre connexion et réessayez.",
      busy: 'Trop de conversations ont été ouvertes depuis ce réseau. Patientez une minute, puis réessayez.',
      retry: 'Réessayer',
      privacy:
        "Ne communiquez jamais vos mots de passe, identifiants ou réponses de sécurité. Les réponses citent la source officielle de l'ASFC; pour votre dossier, appelez le soutien à la clientèle de la GCRA au 1-800-461-9999.",
      placeholder: 'Posez une question sur la GCRA, ou tapez « commencer »'
    }
  };
  var LOCALES = { en: 'en-CA', fr: 'fr-CA' };
  var TICKET_KEY = 'carm-assistant.ticket';
  var LANGUAGE_KEY = 'carm-assistant.language';

  var chatElement = document.getElementById('webchat');
  var statusText = document.getElementById('status-text');
  var statusBox = document.getElementById('status');
  var retryButton = document.getElementById('retry');

  var language = initialLanguage();
  var directLine = null;
  var store = null;
  var connected = false;
  var languageEventPending = false;
  var refreshTimer = null;

  // localStorage can be blocked (private mode, strict settings): the chat still works, without memory.
  function remember(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (e) {
      /* not remembered */
    }
  }
  function recall(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }

  function initialLanguage() {
    var saved = recall(LANGUAGE_KEY);
    if (saved === 'en' || saved === 'fr') return saved;
    return /^fr\b/i.test(navigator.language || '') ? 'fr' : 'en';
  }

  function t(key) {
    return TEXT[language][key];
  }

  /** The page's own words, its lang attribute and the switch's state follow the chosen language. */
  function applyLanguage() {
    document.documentElement.lang = language;
    document.title = t('title');
    var labelled = document.querySelectorAll('[data-text]');
    for (var i = 0; i < labelled.length; i++) {
      var key = labelled[i].getAttribute('data-text');
      if (key && TEXT[language][key]) labelled[i].textContent = t(key);
    }
    var options = document.querySelectorAll('.language-option');
    for (var j = 0; j < options.length; j++) {
      options[j].setAttribute('aria-pressed', String(options[j].getAttribute('data-language') === language));
    }
  }

  function setStatus(state, key) {
    statusBox.setAttribute('data-state', state);
    statusBox.setAttribute('role', state === 'error' ? 'alert' : 'status');
    statusText.textContent = key ? t(key) : '';
    statusText.setAttribute('data-text', key || '');
    retryButton.hidden = state !== 'error';
    statusBox.hidden = state === 'online';
  }

  function styleOptions() {
    return {
      accent: '#1d5fa8',
      backgroundColor: '#f6f8fb',
      subtle: '#58636f',
      primaryFont: "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif, 'Apple Color Emoji', 'Segoe UI Emoji', 'Noto Color Emoji'",
      bubbleBackground: '#ffffff',
      bubbleBorderColor: '#d6dde6',
      bubbleBorderRadius: 12,
      bubbleFromUserBackground: '#1d5fa8',
      bubbleFromUserBorderColor: '#1d5fa8',
      bubbleFromUserBorderRadius: 12,
      bubbleFromUserTextColor: '#ffffff',
      bubbleTextColor: '#1b2733',
      bubbleMaxWidth: 600,
      bubbleMinWidth: 220,
      botAvatarInitials: 'CA',
      botAvatarBackgroundColor: '#1d3a5c',
      avatarSize: 36,
      showAvatarInGroup: 'sender',
      hideUploadButton: true,
      sendBoxBackground: '#ffffff',
      sendBoxBorderTop: 'solid 1px #d6dde6',
      sendBoxHeight: 48,
      sendBoxTextColor: '#1b2733',
      sendBoxPlaceholderColor: '#58636f',
      sendBoxButtonColor: '#1d5fa8',
      timestampColor: '#58636f',
      cardEmphasisBackgroundColor: '#eef2f7',
      cardPushButtonBackgroundColor: '#1d5fa8',
      cardPushButtonTextColor: '#ffffff',
      adaptiveCardsParserMaxVersion: '1.5',
      suggestedActionLayout: 'flow',
      // A long card or the welcome is read from its top: scrolling stops once a page of new content is shown.
      autoScrollSnapOnPage: true,
      autoScrollSnapOnPageOffset: 8,
      transitionDuration: '.2s'
    };
  }

  function render() {
    window.WebChat.renderWebChat(
      {
        directLine: directLine,
        store: store,
        locale: LOCALES[language],
        styleOptions: styleOptions(),
        overrideLocalizedStrings: { TEXT_INPUT_PLACEHOLDER: t('placeholder') }
      },
      chatElement
    );
  }

  /** Tells the bot about a language chosen on the page; it answers in that language from then on. */
  function sendLanguageEvent() {
    if (!connected) {
      languageEventPending = true;
      return;
    }
    languageEventPending = false;
    store.dispatch({ type: 'WEB_CHAT/SEND_EVENT', payload: { name: 'setLanguage', value: { language: language } } });
  }

  function switchLanguage(next) {
    if (next === language) return;
    language = next;
    remember(LANGUAGE_KEY, language);
    applyLanguage();
    if (!store) return;
    render();
    sendLanguageEvent();
  }

  /** The menu's own language button switches the bot; the page follows without telling the bot again. */
  function followLanguageButton(activity) {
    var value = activity && activity.value;
    if (!value || value.action !== 'setLanguage' || (value.language !== 'en' && value.language !== 'fr')) return;
    if (value.language === language) return;
    language = value.language;
    remember(LANGUAGE_KEY, language);
    applyLanguage();
    window.setTimeout(render, 0);
  }

  function watchStore() {
    return function () {
      return function (next) {
        return function (action) {
          if (action.type === 'DIRECT_LINE/CONNECT_FULFILLED') {
            connected = true;
            setStatus('online');
            if (languageEventPending) window.setTimeout(sendLanguageEvent, 0);
          } else if (action.type === 'DIRECT_LINE/CONNECT_REJECTED') {
            connected = false;
            setStatus('error', 'failed');
          } else if (action.type === 'DIRECT_LINE/POST_ACTIVITY') {
            followLanguageButton(action.payload && action.payload.activity);
          }
          return next(action);
        };
      };
    };
  }

  /** Where this page was served from: the bot's own Direct Line endpoint lives beside it. */
  function localDomain() {
    return new URL('v3/directline', document.baseURI).href;
  }

  /**
   * The bot's tokens may be shorter-lived than Web Chat's built-in 15-minute refresh: refresh at half
   * their life so a long conversation never meets an expired token.
   */
  function scheduleRefresh(expiresIn) {
    if (refreshTimer) window.clearTimeout(refreshTimer);
    if (!(expiresIn > 0) || expiresIn >= 1200) return;
    refreshTimer = window.setTimeout(function () {
      fetch(localDomain() + '/tokens/refresh', { method: 'POST', headers: { Authorization: 'Bearer ' + directLine.token } })
        .then(function (response) {
          if (!response.ok) throw Object.assign(new Error('refresh ' + response.status), { status: response.status });
          return response.json();
        })
        .then(function (fresh) {
          directLine.reconnect({ conversationId: fresh.conversationId, token: fresh.token, streamUrl: directLine.streamUrl });
          scheduleRefresh(fresh.expires_in);
        })
        .catch(function (error) {
          // An expired token cannot be refreshed; anything else (a network blip) is tried again.
          if (error.status !== 403) scheduleRefresh(60);
        });
    }, (expiresIn * 1000) / 2);
  }

  function start() {
    setStatus('connecting', 'connecting');
    var ticket = recall(TICKET_KEY);
    fetch('api/webchat/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(ticket ? { ticket: ticket } : {})
    })
      .then(function (response) {
        if (response.status === 429) throw Object.assign(new Error('busy'), { key: 'busy' });
        if (!response.ok) throw new Error('token ' + response.status);
        return response.json();
      })
      .then(function (session) {
        // The ticket, not a raw id: the server signed it, so nobody can claim another visitor's progress.
        remember(TICKET_KEY, session.ticket);
        if (directLine) directLine.end();
        connected = false;
        directLine = window.WebChat.createDirectLine({
          token: session.token,
          domain: session.mode === 'local' ? localDomain() : undefined,
          webSocket: true,
          conversationStartProperties: { locale: LOCALES[language] }
        });
        store = window.WebChat.createStore({}, watchStore());
        render();
        if (session.mode === 'local') scheduleRefresh(session.expires_in);
      })
      .catch(function (error) {
        setStatus('error', (error && error.key) || 'failed');
      });
  }

  var languageButtons = document.querySelectorAll('.language-option');
  for (var i = 0; i < languageButtons.length; i++) {
    languageButtons[i].addEventListener('click', function (event) {
      switchLanguage(event.currentTarget.getAttribute('data-language'));
    });
  }
  retryButton.addEventListener('click', start);

  applyLanguage();
  if (!window.WebChat) {
    setStatus('error', 'failed');
    return;
  }
  start();
})();
